"""Crossmatch behaviour against a brute-force oracle, on real HATS collections written by LSDB."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracle import brute_force_matches, oracle_collection, synthetic_catalogs, write_collection

from tsmaker import make_training_set
from tsmaker.errors import CatalogError, InputError, ParameterError
from tsmaker.inputs.hats_files import open_object_catalog
from tsmaker.matching.crossmatch import MatchParameters, PixelMatchGroup, check_margin
from tsmaker.matching.healpix import healpix29
from tsmaker.matching.planning import disc_leaves_pixel, plan_pixel_matches
from tsmaker.matching.ranking import select_unique_closest
from tsmaker.parameters import RunParameters


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("xmatch")
    objects, specz = synthetic_catalogs()
    collection = oracle_collection(tmp_path_factory, 400)
    specz_path = folder / "specz.parquet"
    specz.to_parquet(specz_path, index=False)
    return {"objects": objects, "specz": specz, "collection": collection, "specz_path": specz_path}


def _run(catalogs: dict, tmp_path: Path, **options) -> tuple[pd.DataFrame, object]:
    product = make_training_set(
        "xm", catalogs["specz_path"], catalogs["collection"], output_dir=str(tmp_path), **options
    )
    return pd.read_parquet(product.files[0]), product


def _pairs(frame: pd.DataFrame) -> pd.DataFrame:
    return (
        frame[["specz_id", "objectId", "match_rank", "match_distance_arcsec"]]
        .sort_values(["specz_id", "match_rank"])
        .reset_index(drop=True)
        .astype({"specz_id": "int64", "objectId": "int64", "match_rank": "int64",
                 "match_distance_arcsec": "float64"})
    )


@pytest.mark.parametrize(("radius_arcsec", "k"), [(1.0, 1), (3.0, 3), (4.5, 5)])
def test_matches_equal_brute_force_oracle(catalogs, tmp_path, radius_arcsec, k):
    result, product = _run(catalogs, tmp_path, radius_arcsec=radius_arcsec, n_neighbors=k)
    expected = brute_force_matches(catalogs["specz"], catalogs["objects"], radius_arcsec, k)
    got = _pairs(result)
    pd.testing.assert_frame_equal(
        got.drop(columns="match_distance_arcsec"),
        expected.drop(columns="match_distance_arcsec").reset_index(drop=True),
    )
    np.testing.assert_allclose(got["match_distance_arcsec"], expected["match_distance_arcsec"],
                               rtol=0, atol=1e-6)
    assert product.rows == len(expected)
    matched = expected["specz_id"].nunique()
    assert product.summary["matched_specz"] == matched
    fraction = matched / len(catalogs["specz"])
    assert product.summary["matched_fraction"] == pytest.approx(fraction, abs=1e-6)


@pytest.mark.slow  # LSDB's own crossmatch takes seconds; the oracle tests stay in the inner loop
@pytest.mark.parametrize(("radius_arcsec", "k"), [(1.0, 1), (4.5, 3)])
def test_matches_equal_lsdb_crossmatch(catalogs, tmp_path, radius_arcsec, k):
    """The same pairs and distances as ``lsdb.Catalog.crossmatch`` on the same files."""
    import lsdb

    result, _ = _run(catalogs, tmp_path, radius_arcsec=radius_arcsec, n_neighbors=k)
    left = lsdb.from_dataframe(catalogs["specz"], ra_column="ra", dec_column="dec",
                               margin_threshold=None)
    right = lsdb.open_catalog(catalogs["collection"], columns=["objectId", "coord_ra",
                                                               "coord_dec"])
    lsdb_pairs = left.crossmatch(right, n_neighbors=k, radius_arcsec=radius_arcsec,
                                 suffixes=("", "_object"), suffix_method="all_columns",
                                 require_right_margin=True).compute()
    lsdb_pairs = lsdb_pairs.rename(columns={"specz_id": "key", "objectId_object": "object",
                                            "_dist_arcsec": "distance"})
    ours = result.rename(columns={"specz_id": "key", "objectId": "object",
                                  "match_distance_arcsec": "distance"})
    columns = ["key", "object"]
    merged = ours[[*columns, "distance"]].merge(
        lsdb_pairs[[*columns, "distance"]], on=columns, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert len(merged) == len(lsdb_pairs) > 100
    np.testing.assert_allclose(merged["distance_x"], merged["distance_y"], rtol=0, atol=1e-9)


@pytest.mark.slow
def test_disc_leaves_pixel_never_misses_an_edge_crossing():
    """Checked against a dense oracle: 3,600 points on each circle and its centre."""
    rng = np.random.default_rng(3)
    order = 7
    # Centres within a few arcsec of order-7 pixel edges and corners, plus random ones.
    import astropy.units as u
    import cdshealpix

    pixels = rng.integers(0, 12 * 4**order, 60)
    lon, lat = cdshealpix.nested.vertices(pixels, order)
    corner_ra = lon.to_value(u.deg).ravel()
    corner_dec = lat.to_value(u.deg).ravel()
    ra = np.concatenate([corner_ra, rng.uniform(0, 360, 200)])
    dec = np.concatenate([corner_dec, np.degrees(np.arcsin(rng.uniform(-1, 1, 200)))])
    ra, dec = _offset(np.repeat(ra, 8), np.repeat(dec, 8), rng.uniform(0, 3.0, len(ra) * 8),
                      rng.uniform(0, 360, len(ra) * 8))
    radius_arcsec = 1.5
    flagged = disc_leaves_pixel(ra, dec, radius_arcsec, order)

    angles = np.linspace(0, 360, 3600, endpoint=False)
    ring_ra, ring_dec = _offset(np.repeat(ra, len(angles)), np.repeat(dec, len(angles)),
                                radius_arcsec, np.tile(angles, len(ra)))
    shift = 2 * (29 - order)
    ring_pixel = (healpix29(ring_ra, ring_dec) >> shift).reshape(len(ra), len(angles))
    centre_pixel = healpix29(ra, dec) >> shift
    crosses = np.any(ring_pixel != centre_pixel[:, None], axis=1)

    assert crosses.sum() > 100 and (~crosses).sum() > 100  # both cases really occur
    assert not np.any(crosses & ~flagged)  # never a missed crossing
    # Over-flagging costs only a margin read; it stays rare.
    assert (flagged & ~crosses).sum() <= 0.05 * crosses.sum()


@pytest.mark.slow
def test_spec_z_beyond_the_footprint_edge_match_objects_inside_it(tmp_path):
    """A spec-z in no partition, just beyond the edge of the object catalog's footprint,
    still gets every object within the radius (LSDB's crossmatch pairs only overlapping
    partitions and would lose it); spec-z far from every partition get nothing."""
    # Objects just inside the edges of 150 scattered order-10 pixels, so that the pixels
    # are the partitions and their neighbours are empty sky.
    import astropy.units as u
    import hats
    from cdshealpix.nested import healpix_to_lonlat, vertices
    from oracle import offset_positions, unit_vectors

    rng = np.random.default_rng(3)
    cells = rng.choice(12 * 4**10, 150, replace=False).astype(np.uint64)
    corner_ra, corner_dec = (v.to_value(u.deg) for v in vertices(cells, 10))
    centre_ra, centre_dec = (v.to_value(u.deg) for v in healpix_to_lonlat(cells, 10))
    per_cell = 12
    cell = np.repeat(np.arange(len(cells)), per_cell)
    side = rng.integers(0, 4, len(cell))
    fraction = rng.uniform(0.1, 0.9, len(cell))
    start = unit_vectors(corner_ra[cell, side], corner_dec[cell, side])
    stop = unit_vectors(corner_ra[cell, (side + 1) % 4], corner_dec[cell, (side + 1) % 4])
    point = (1 - fraction)[:, None] * start + fraction[:, None] * stop
    edge_ra = np.degrees(np.arctan2(point[:, 1], point[:, 0])) % 360
    edge_dec = np.degrees(np.arcsin(point[:, 2] / np.linalg.norm(point, axis=1)))
    inward = _position_angle(edge_ra, edge_dec, centre_ra[cell], centre_dec[cell])
    ra, dec = offset_positions(edge_ra, edge_dec, rng.uniform(0.3, 2.0, len(cell)), inward)
    n = len(ra)
    objects = pd.DataFrame({"objectId": np.arange(n, dtype=np.int64) + 10**15,
                            "coord_ra": ra, "coord_dec": dec})
    for band in "ugrizy":
        objects[f"{band}_cModelFlux"] = rng.lognormal(7.0, 1.0, n).astype(np.float32)
        objects[f"{band}_cModelFluxErr"] = np.float32(30.0)
    collection = write_collection(objects, tmp_path / "sparse", lowest_order=10)
    pixels = hats.read_hats(collection).main_catalog.get_healpix_pixels()
    starts = np.array(sorted(p.pixel << (2 * (29 - p.order)) for p in pixels))
    ends = np.array(sorted((p.pixel + 1) << (2 * (29 - p.order)) for p in pixels))
    ra, dec = offset_positions(ra, dec, rng.uniform(0.1, 2.5, n), rng.uniform(0, 360, n))
    healpix = healpix29(ra, dec)
    index = np.searchsorted(starts, healpix, side="right") - 1
    outside = (index < 0) | (healpix >= ends[np.maximum(index, 0)])
    assert outside.sum() >= 300
    far_ra, far_dec = rng.uniform(0, 360, 20), rng.uniform(-80, -60, 20)
    specz = pd.DataFrame({"ra": np.concatenate([ra[outside], ra[~outside][:100], far_ra]),
                          "dec": np.concatenate([dec[outside], dec[~outside][:100], far_dec])})
    specz["specz_id"] = np.arange(len(specz), dtype=np.int64) + 1
    specz["z"] = 0.5
    path = tmp_path / "edge_specz.parquet"
    specz.to_parquet(path, index=False)

    product = make_training_set("edge", path, collection, output_dir=str(tmp_path),
                                radius_arcsec=3.0, n_neighbors=3)
    got = _pairs(pd.read_parquet(product.files[0]))
    expected = brute_force_matches(specz, objects, 3.0, 3)
    # Every spec-z near the footprint has its object; the far ones have none.
    assert expected["specz_id"].nunique() == len(specz) - 20
    pd.testing.assert_frame_equal(
        got.drop(columns="match_distance_arcsec"),
        expected.drop(columns="match_distance_arcsec").reset_index(drop=True),
    )
    np.testing.assert_allclose(got["match_distance_arcsec"], expected["match_distance_arcsec"],
                               rtol=0, atol=1e-6)


def _position_angle(ra1, dec1, ra2, dec2):
    """Position angle (deg, east of north) of point 2 seen from point 1."""
    ra1, dec1, ra2, dec2 = map(np.radians, (ra1, dec1, ra2, dec2))
    delta = ra2 - ra1
    return np.degrees(np.arctan2(np.sin(delta) * np.cos(dec2), np.cos(dec1) * np.sin(dec2)
                                 - np.sin(dec1) * np.cos(dec2) * np.cos(delta)))


def _offset(ra, dec, separation_arcsec, angle_deg):
    from oracle import offset_positions

    return offset_positions(ra, dec, separation_arcsec, angle_deg)


def test_margin_files_are_read_only_for_partitions_with_spec_z_near_an_edge(catalogs):
    files = open_object_catalog(str(catalogs["collection"]))
    specz = catalogs["specz"]
    radius_arcsec = 2.0
    tasks = plan_pixel_matches(specz, ra_column="ra", dec_column="dec", object_files=files,
                               radius_arcsec=radius_arcsec)

    assert sum(len(task.redshift_rows) for task in tasks) == len(specz)
    margin_pixels = set(files.margin.pixels)
    with_margin = [task for task in tasks if len(task.files) == 2]
    for task in tasks:
        near = disc_leaves_pixel(task.redshift_rows["ra"], task.redshift_rows["dec"],
                                 radius_arcsec, task.order)
        assert (len(task.files) == 2) == (bool(near.any())
                                          and (task.order, task.pixel) in margin_pixels)
    assert 0 < len(with_margin) < len(tasks)


def test_a_task_group_pickles_to_the_same_partitions_and_spec_z(catalogs):
    import pickle

    files = open_object_catalog(str(catalogs["collection"]))
    specz = catalogs["specz"].assign(
        survey=pd.array([f"s{i % 7}" if i % 5 else None for i in range(len(catalogs["specz"]))],
                        dtype="string"),
        quality=pd.array([i % 4 if i % 9 else None for i in range(len(catalogs["specz"]))],
                         dtype="Int64"),
    )
    tasks = plan_pixel_matches(specz, ra_column="ra", dec_column="dec", object_files=files,
                               radius_arcsec=2.0)
    group = PixelMatchGroup(tuple(tasks))
    assert len(tasks) > 3 and len(group) == len(tasks)

    copy = pickle.loads(pickle.dumps(group))

    assert [(m.order, m.pixel, m.files) for m in copy] == [
        (m.order, m.pixel, m.files) for m in tasks
    ]
    for unpickled, planned in zip(copy, tasks, strict=True):
        pd.testing.assert_frame_equal(unpickled.redshift_rows, planned.redshift_rows)
    one = pickle.loads(pickle.dumps(PixelMatchGroup(tuple(tasks[1:2]))))
    pd.testing.assert_frame_equal(one.pixel_matches[0].redshift_rows, tasks[1].redshift_rows)


@pytest.mark.parametrize("k", [1, 3])
def test_a_group_matches_as_its_partitions_do_one_by_one(catalogs, k):
    """match_pixels finds the spec-z cells of all partitions at once and cuts them back;
    each partition must get its own cells, as when it is matched alone."""
    import dataclasses
    import pickle

    from tsmaker.matching.crossmatch import PixelMatcher, match_pixels
    from tsmaker.matching.sphere import pairs_within

    files = open_object_catalog(str(catalogs["collection"]))
    tasks = plan_pixel_matches(catalogs["specz"], ra_column="ra", dec_column="dec",
                               object_files=files, radius_arcsec=2.0)
    matcher = PixelMatcher(
        object_columns=("objectId", "coord_ra", "coord_dec"), row_filters=(),
        object_ra_column="coord_ra", object_dec_column="coord_dec",
        object_id_column="objectId", redshift_ra_column="ra", redshift_dec_column="dec",
        parameters=MatchParameters(radius_arcsec=2.0, n_neighbors=k),
    )
    # A partition with no spec-z in the middle and at the end: zero-length slices.
    empty = dataclasses.replace(tasks[1], redshift_rows=tasks[1].redshift_rows.iloc[:0])
    tasks = [tasks[0], empty, *tasks[1:], empty]
    sizes = [len(task.redshift_rows) for task in tasks]
    assert len(tasks) > 5 and len(set(sizes)) > 2

    # The way a Dask worker receives the group: pickled, the spec-z joined.
    group = pickle.loads(pickle.dumps(PixelMatchGroup(tuple(tasks))))
    together = list(match_pixels(group, matcher))

    assert len(together) == len(tasks)
    matched = 0
    for grouped, task in zip(together, tasks, strict=True):
        (alone,) = match_pixels([task], matcher)
        pd.testing.assert_frame_equal(grouped.redshift_rows, alone.redshift_rows)
        assert grouped.object_rows.equals(alone.object_rows)
        np.testing.assert_array_equal(grouped.distance_arcsec, alone.distance_arcsec)
        matched += len(alone.distance_arcsec)
    assert matched > 100
    assert list(match_pixels((), matcher)) == []
    ra, dec = tasks[0].redshift_rows["ra"], tasks[0].redshift_rows["dec"]
    assert len(ra) > 1
    with pytest.raises(ValueError, match=r"blocks1 has shape \(1, 9\)"):
        pairs_within(ra, dec, ra, dec, 2.0, blocks1=np.zeros((1, 9), dtype=np.int64))


def test_missing_partition_file_is_one_clear_error_and_a_failed_product(catalogs, tmp_path):
    import shutil

    from tsmaker.registry.database import Registry

    copy = tmp_path / "objects"
    shutil.copytree(catalogs["collection"], copy)
    files = open_object_catalog(str(copy))
    tasks = plan_pixel_matches(catalogs["specz"], ra_column="ra", dec_column="dec",
                               object_files=files, radius_arcsec=1.0)
    missing = tasks[len(tasks) // 2].files[0].path
    Path(missing).unlink()

    with pytest.raises(CatalogError) as raised:
        make_training_set("broken", catalogs["specz_path"], str(copy), output_dir=str(tmp_path))
    message = str(raised.value)
    assert missing in message and "cannot be read" in message and "\n" not in message
    with Registry.open_default() as registry:
        (product,) = [p for p in registry.list_products() if p.name == "broken"]
    assert product.status == "failed"
    assert not list(tmp_path.glob("broken*.parquet"))


def test_oracle_cases_are_really_exercised(catalogs):
    """The synthetic data must contain the awkward cases, or the oracle test proves little."""
    import hats
    from hats.pixel_math.spatial_index import compute_spatial_index

    expected = brute_force_matches(catalogs["specz"], catalogs["objects"], 3.0, 3)
    specz = catalogs["specz"].set_index("specz_id")
    objects = catalogs["objects"].set_index("objectId")
    pairs = expected.join(specz[["ra", "dec"]], on="specz_id").join(
        objects[["coord_ra", "coord_dec"]], on="objectId"
    )
    assert (np.abs(pairs["ra"] - pairs["coord_ra"]) > 180).sum() >= 3, "pairs across RA 0/360"
    assert (pairs["dec"] > 89.5).sum() >= 20, "pairs near the pole"
    assert (expected["match_rank"] > 1).sum() >= 50, "k > 1 matters"
    assert len(specz) - expected["specz_id"].nunique() >= 20, "spec-z with no match"
    catalog = hats.read_hats(catalogs["collection"]).main_catalog
    pixels = catalog.get_healpix_pixels()
    starts = np.array([p.pixel << (2 * (29 - p.order)) for p in pixels])
    order = np.argsort(starts)
    starts = starts[order]

    def partition_of(ra, dec):
        index = compute_spatial_index(np.asarray(ra), np.asarray(dec))
        return np.searchsorted(starts, index, side="right") - 1

    crossing = partition_of(pairs["ra"], pairs["dec"]) != partition_of(
        pairs["coord_ra"], pairs["coord_dec"]
    )
    assert len(pixels) >= 20
    assert crossing.sum() >= 5, "pairs whose spec-z and object sit in different partitions"


def test_rows_come_in_documented_order(catalogs, tmp_path):
    from hats.pixel_math.spatial_index import compute_spatial_index

    result, _ = _run(catalogs, tmp_path, radius_arcsec=3.0, n_neighbors=3)
    healpix = compute_spatial_index(result["ra"].to_numpy(), result["dec"].to_numpy())
    keys = pd.DataFrame({"h": healpix, "id": result["specz_id"], "rank": result["match_rank"]})
    expected = keys.sort_values(["h", "id", "rank"], kind="mergesort")
    assert keys.index.tolist() == expected.index.tolist()


def test_redshift_columns_keep_names_and_clashes_get_specz_suffix(catalogs, tmp_path):
    specz = catalogs["specz"].assign(ebv=0.5, objectId=7)
    path = tmp_path / "clash.parquet"
    specz.to_parquet(path, index=False)
    product = make_training_set("clash", path, catalogs["collection"], output_dir=str(tmp_path))
    result = pd.read_parquet(product.files[0])
    for column in ("specz_id", "ra", "dec", "z", "z_err", "z_flag", "ebv_specz",
                   "objectId_specz", "objectId", "coord_ra", "coord_dec", "ebv",
                   "match_distance_arcsec", "match_rank", "specz_row"):
        assert column in result.columns, column
    assert (result["ebv_specz"] == 0.5).all()
    assert (result["objectId_specz"] == 7).all()
    assert not (result["ebv"] == 0.5).any()


def test_radius_larger_than_margin_is_refused_before_any_work(catalogs, tmp_path, registry):
    with pytest.raises(InputError, match=r"radius_arcsec 12.0 arcsec is larger than the "
                                         r"object catalog's margin \(10 arcsec\)"):
        make_training_set("big", catalogs["specz_path"], catalogs["collection"],
                          radius_arcsec=12.0, output_dir=str(tmp_path), registry=registry)
    assert registry.list_products() == []


def test_catalog_without_margin_is_refused(tmp_path):
    import lsdb

    objects, specz = synthetic_catalogs(seed=3)
    lsdb.from_dataframe(objects, ra_column="coord_ra", dec_column="coord_dec",
                        margin_threshold=None).write_catalog(tmp_path / "nomargin",
                                                             progress_bar=False)
    specz.to_parquet(tmp_path / "s.parquet", index=False)
    with pytest.raises(CatalogError, match="has no margin cache"):
        make_training_set("nm", tmp_path / "s.parquet", tmp_path / "nomargin",
                          output_dir=str(tmp_path))


def test_zero_matches_gives_an_empty_product_with_all_columns(catalogs, tmp_path):
    # Spec-z inside the catalog's footprint, none with an object within the radius (spec-z
    # that meet no partition at all are refused: tests/run/test_failure_modes.py).
    specz = catalogs["specz"]
    matched = brute_force_matches(specz, catalogs["objects"], 1.0, 1)["specz_id"]
    lonely = specz[~specz["specz_id"].isin(matched)]
    assert len(lonely) > 10
    path = tmp_path / "lonely.parquet"
    lonely.to_parquet(path, index=False)
    product = make_training_set("none", path, catalogs["collection"], output_dir=str(tmp_path))
    result = pd.read_parquet(product.files[0])
    assert product.status == "done"
    assert product.rows == 0 and len(result) == 0
    assert {"specz_id", "objectId", "g_cModelMag", "match_rank"} <= set(result.columns)
    # the object columns keep the catalog's types even with no row to infer them from
    assert str(result["objectId"].dtype) == "int64"
    assert str(result["g_cModelFlux"].dtype) == "float32"
    assert product.summary["matched_fraction"] == 0.0


@pytest.mark.parametrize(("radius", "k", "cli", "python"), [
    (0.0, 1, "--radius 0.0 must be a number greater than 0 (arcsec); use e.g. --radius 1.0",
     "radius_arcsec 0.0 must be a number greater than 0 (arcsec); use e.g. radius_arcsec=1.0"),
    (-1.0, 1, "--radius -1.0 must be a number greater than 0", "radius_arcsec -1.0 must"),
    (1.0, 0, "--neighbors 0 must be a whole number >= 1", "n_neighbors 0 must be a whole"),
])
def test_radius_and_neighbours_are_refused_in_each_front_end_s_words(radius, k, cli, python):
    parameters = RunParameters("t", "specz.parquet", "objects", radius_arcsec=radius,
                               n_neighbors=k)
    with pytest.raises(ParameterError) as raised:
        parameters.validate()
    assert raised.value.message("cli").startswith(cli)
    assert str(raised.value).startswith(python)
    assert raised.value.parameter == ("radius_arcsec" if k else "n_neighbors")


def test_a_radius_wider_than_the_margin_is_refused():
    check_margin(5.0, 5.0, "x")  # equal is fine
    with pytest.raises(ParameterError, match="larger than the object catalog's margin") as raised:
        check_margin(5.5, 5.0, "x")
    assert "--radius <= 5" in raised.value.message("cli")
    with pytest.raises(CatalogError, match="has no margin cache"):
        check_margin(1.0, None, "x")


def test_select_unique_closest_rules_and_ties():
    pairs = pd.DataFrame({
        "key": [1, 1, 2, 2, 3, 4, 5],
        "obj": [10, 11, 10, 12, 13, 13, 14],
        "match_distance_arcsec": [0.5, 0.9, 0.3, 0.4, 0.7, 0.7, 0.2],
        "flag": [4, 4, 3, 3, 2, 4, 1],
        "zerr": [1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4],
    })
    keep, counts = select_unique_closest(pairs, key_column="key", object_column="obj",
                                         flag_column="flag", z_err_column="zerr")
    kept = pairs[keep][["key", "obj"]].values.tolist()
    # obj 10: key 2 is nearer (0.3) -> key 1 loses it and keeps obj 11; key 2 keeps obj 10
    # (nearest), losing obj 12; obj 13: tie at 0.7, key 4 has the better flag.
    assert sorted(kept) == [[1, 11], [2, 10], [4, 13], [5, 14]]
    assert counts == {"removed_duplicate_objects": 2, "removed_duplicate_specz": 1}


def test_select_unique_closest_with_lower_flags_better():
    # DESI-like ZWARN: 0 is best. Two spec-z at the same distance from one object.
    pairs = pd.DataFrame({"key": [1, 2], "obj": [10, 10],
                          "match_distance_arcsec": [0.4, 0.4], "zwarn": [4, 0]})
    keep, _ = select_unique_closest(pairs, key_column="key", object_column="obj",
                                    flag_column="zwarn", higher_flag_is_better=False)
    assert pairs[keep]["key"].tolist() == [2]
    keep, _ = select_unique_closest(pairs, key_column="key", object_column="obj",
                                    flag_column="zwarn")
    assert pairs[keep]["key"].tolist() == [1]


@pytest.mark.parametrize("radius_arcsec", [0.3, 1.0, 5.0])
def test_a_disc_lies_in_its_cell_and_the_8_neighbours_at_the_matching_order(radius_arcsec):
    """pairs_within takes its candidates from 9 cells; no point of the disc may fall
    outside them, near the poles and the base-pixel corners included."""
    from tsmaker.matching.healpix import lonlat_to_healpix, neighbours
    from tsmaker.matching.sphere import cell_order, offset_positions

    rng = np.random.default_rng(11)
    n = 20_000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    dec[:5000] = np.sign(dec[:5000] + 1e-9) * rng.uniform(88, 90, 5000)
    dec[5000:10000] = rng.choice([41.8103, -41.8103], 5000) + rng.uniform(-0.01, 0.01, 5000)
    order = cell_order(radius_arcsec)
    block = neighbours(lonlat_to_healpix(ra, dec, order), order)
    for angle in np.linspace(0, 360, 36, endpoint=False):
        edge_ra, edge_dec = offset_positions(ra, dec, radius_arcsec, angle)
        cell = lonlat_to_healpix(edge_ra, edge_dec, order)
        assert (block == cell[:, None]).any(axis=1).all()


@pytest.mark.parametrize("max_candidates", [None, 1, 997])
def test_pairs_within_equals_all_pairs_distances(max_candidates, monkeypatch):
    """Also when the candidates are tested a few rows at a time (one row when a row
    alone has more than the limit)."""
    from oracle import separation_arcsec as oracle_separation

    from tsmaker.matching import sphere
    from tsmaker.matching.sphere import pairs_within

    if max_candidates is not None:
        monkeypatch.setattr(sphere, "MAX_CANDIDATES", max_candidates)

    rng = np.random.default_rng(5)
    centres = [(0.0, 0.0), (180.0, 89.99), (300.0, -60.0)]
    ra1, dec1, ra2, dec2 = [], [], [], []
    for ra, dec in centres:
        for target, n in ((ra1, 300), (ra2, 3000)):
            target.append(ra + rng.normal(0, 20 / 3600, n) / max(np.cos(np.radians(dec)), 1e-3))
        dec1.append(np.clip(dec + rng.normal(0, 20 / 3600, 300), -90, 90))
        dec2.append(np.clip(dec + rng.normal(0, 20 / 3600, 3000), -90, 90))
    ra1, dec1 = np.mod(np.concatenate(ra1), 360), np.concatenate(dec1)
    ra2, dec2 = np.mod(np.concatenate(ra2), 360), np.concatenate(dec2)
    rows1, rows2, distance = pairs_within(ra1, dec1, ra2, dec2, 2.0)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(ra1), 100):  # every pair's distance, 100 rows at a time
        block = oracle_separation(ra1[start:start + 100, None], dec1[start:start + 100, None],
                                  ra2[None, :], dec2[None, :])
        rows, columns = np.nonzero(block <= 2.0)
        found.append((rows + start, columns, block[rows, columns]))
    expected1, expected2, expected_distance = (
        np.concatenate(parts) for parts in zip(*found, strict=True))
    assert len(expected1) > 500
    np.testing.assert_array_equal(rows1, expected1)
    np.testing.assert_array_equal(rows2, expected2)
    np.testing.assert_allclose(distance, expected_distance, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dec_deg", [0.0, 45.0, -89.9999, 89.99995])
def test_pairs_within_keeps_pairs_just_inside_the_radius_in_every_direction(dec_deg):
    """Objects 1e-4 of a radius inside and outside the disc, due north and south
    included (where the z = sin(dec) window is tightest) and next to the poles."""
    from oracle import separation_arcsec as oracle_separation

    from tsmaker.matching.sphere import offset_positions, pairs_within

    radius_arcsec = 1.0
    rng = np.random.default_rng(3)
    ra1 = rng.uniform(0, 360, 50)
    dec1 = np.full(50, dec_deg)
    angles = np.concatenate([[0.0, 90.0, 180.0, 270.0], rng.uniform(0, 360, 12)])
    ra2, dec2 = [], []
    for scale in (1 - 1e-4, 1 + 1e-4):
        for angle in angles:
            ra, dec = offset_positions(ra1, dec1, radius_arcsec * scale, angle)
            ra2.append(ra)
            dec2.append(dec)
    ra2, dec2 = np.concatenate(ra2), np.concatenate(dec2)
    rows1, rows2, distance = pairs_within(ra1, dec1, ra2, dec2, radius_arcsec)
    all_distances = oracle_separation(ra1[:, None], dec1[:, None], ra2[None, :], dec2[None, :])
    expected1, expected2 = np.nonzero(all_distances <= radius_arcsec)
    found = set(zip(rows1.tolist(), rows2.tolist(), strict=True))
    n_inside = 50 * len(angles)  # objects 0..n_inside-1 were placed inside, the rest outside
    own = [(j % 50, j) for j in range(2 * n_inside)]
    assert all((pair in found) == (pair[1] < n_inside) for pair in own)
    np.testing.assert_array_equal(rows1, expected1)
    np.testing.assert_array_equal(rows2, expected2)


@pytest.mark.parametrize("n_nearest", [1, 3])
@pytest.mark.parametrize("max_candidates", [None, 1, 500])
def test_pairs_within_n_nearest_keeps_the_nearest_and_their_ties(
    n_nearest, max_candidates, monkeypatch
):
    from oracle import separation_arcsec as oracle_separation

    from tsmaker.matching import sphere
    from tsmaker.matching.sphere import pairs_within

    if max_candidates is not None:
        monkeypatch.setattr(sphere, "MAX_CANDIDATES", max_candidates)
    rng = np.random.default_rng(17)
    ra1, dec1 = rng.uniform(150, 150.01, 200), rng.uniform(2, 2.01, 200)
    ra2, dec2 = rng.uniform(150, 150.01, 4000), rng.uniform(2, 2.01, 4000)
    # Ties: objects at the same place as others, and mirror images about a spec-z.
    ra2[:300], dec2[:300] = ra2[300:600], dec2[300:600]
    ra2[600:700], dec2[600:700] = 2 * ra1[:100] - ra2[700:800], 2 * dec1[:100] - dec2[700:800]
    radius_arcsec = 5.0

    rows1, rows2, distance = pairs_within(ra1, dec1, ra2, dec2, radius_arcsec, n_nearest)

    all_distances = oracle_separation(ra1[:, None], dec1[:, None], ra2[None, :], dec2[None, :])
    expected = []
    for row, distances in enumerate(all_distances):
        within = np.sort(distances[distances <= radius_arcsec])
        if len(within):
            limit = within[min(n_nearest, len(within)) - 1]
            expected += [(row, j) for j in np.flatnonzero(distances <= limit + 1e-9)]
    assert len(expected) > 200 * n_nearest * 0.8
    assert sum(len(np.flatnonzero(d <= radius_arcsec)) for d in all_distances) > 4 * len(expected)
    assert list(zip(rows1.tolist(), rows2.tolist(), strict=True)) == expected
    np.testing.assert_allclose(distance, all_distances[rows1, rows2], rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "pieces",
    [
        [np.array([1.5, 2.5], dtype=np.float32), np.array([], dtype=np.float32),
         np.array([3.5], dtype=np.float32)],
        [np.array([1, 2]), pd.array([3, None], dtype="Int64")],
        [pd.array(["a", None], dtype="str"), pd.array([], dtype="str"),
         pd.array(["bc"], dtype="str")],
        [pd.array([True, None], dtype="boolean"), np.array([False])],
        [pd.array([1.0], dtype="float64[pyarrow]"), pd.array([None], dtype="float64[pyarrow]")],
    ],
    ids=["float32", "int64+Int64", "str", "boolean+bool", "arrow"],
)
def test_a_tasks_partitions_join_as_pandas_concat_joins_them(pieces: list) -> None:
    """A task joins its partitions' columns itself; dtypes and values are pandas.concat's."""
    from tsmaker.run.partition import _concat_column

    joined = pd.Series(_concat_column(pieces))
    expected = pd.concat([pd.Series(piece) for piece in pieces], ignore_index=True)

    pd.testing.assert_series_equal(joined, expected)
