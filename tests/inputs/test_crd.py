"""Combine Redshift Catalogs (LIneA's CRD) products as redshift catalogs, end to end.

The file below has a CRD product's columns and types (as the pipeline writes them:
``CRD_ID`` and ``id`` strings, ``tie_result`` int8, ``z_flag_homogenized`` float,
``group_id`` int64, ``compared_to`` a comma-separated string, plus survey extras such
as ``z_spec`` and ``zspec``), placed on the oracle's synthetic objects: 120 single
galaxies (tie 1), 20 galaxies measured twice (winner tie 1, loser tie 0), 15 unresolved
pairs (both tie 2) and 10 stars (tie 3, flag 6).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oracle import brute_force_matches, oracle_collection, synthetic_catalogs
from typer.testing import CliRunner

from tsmaker import make_training_set
from tsmaker.cli.app import app
from tsmaker.inputs.crd import select_crd_rows

SINGLES, PAIRS, TIES, STARS = 120, 20, 15, 10
ROWS = SINGLES + 2 * PAIRS + 2 * TIES + STARS  # 230


def crd_frame() -> pd.DataFrame:
    _, specz = synthetic_catalogs()
    rng = np.random.default_rng(8)
    positions = specz.iloc[rng.choice(len(specz), SINGLES + PAIRS + TIES + STARS,
                                      replace=False)].reset_index(drop=True)
    rows = []
    surveys = ["2DFLENS", "OZDES", "DESI"]

    def row(index: int, tie: int, flag: float, z: float, group: int, compared: str | None):
        position = positions.iloc[index]
        number = len(rows)
        rows.append({
            "CRD_ID": f"CRD{number % 3 + 1:03d}_{number}",
            "id": f"{surveys[number % 3]}-{index}",
            "ra": position["ra"], "dec": position["dec"], "z": z,
            "z_flag": flag if flag != 6 else -1.0, "z_err": 1e-4,
            "instrument_type": None, "survey": surveys[number % 3],
            "source": f"{number % 3 + 1:03d}_{surveys[number % 3].lower()}",
            "tie_result": tie, "is_in_DP1_fields": int(number % 5 == 0),
            "is_in_rubin_footprint": True, "compared_to": compared, "group_id": group,
            "z_flag_homogenized": flag, "instrument_type_homogenized": "s",
            "z_spec": np.nan, "zspec": np.nan,
        })
        return rows[-1]["CRD_ID"]

    index = 0
    for _ in range(SINGLES):
        row(index, 1, 4.0, float(positions.iloc[index]["z"]), -1, None)
        index += 1
    for _ in range(PAIRS):  # the better flag won
        z = float(positions.iloc[index]["z"])
        winner = row(index, 1, 4.0, z, index, None)
        row(index, 0, 2.0, z + 0.0002, index, winner)
        index += 1
    for _ in range(TIES):  # same flag, redshifts 0.01 apart: unresolved
        z = float(positions.iloc[index]["z"])
        first = row(index, 2, 3.0, z, index, None)
        row(index, 2, 3.0, z + 0.01, index, first)
        index += 1
    for _ in range(STARS):
        row(index, 3, 6.0, 0.0001, -1, None)
        index += 1
    frame = pd.DataFrame(rows)
    frame["tie_result"] = frame["tie_result"].astype(np.int8)
    frame["group_id"] = frame["group_id"].astype(np.int64)
    frame["is_in_DP1_fields"] = frame["is_in_DP1_fields"].astype(np.int64)
    frame["CRD_ID"] = frame["CRD_ID"].astype(str)
    assert len(frame) == ROWS
    # Shuffled, as a combined catalog comes out of its partitions.
    return frame.sample(frac=1.0, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def crd(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("crd")
    frame = crd_frame()
    path = folder / "crd_combined.parquet"
    frame.to_parquet(path, index=False)
    return {"frame": frame, "path": path, "collection": oracle_collection(tmp_path_factory, 400),
            "objects": synthetic_catalogs()[0]}


def expected_ids(crd: dict, kept: pd.DataFrame) -> set[str]:
    matches = brute_force_matches(kept, crd["objects"], 1.0, 1, key="CRD_ID")
    return set(matches["CRD_ID"])


def test_default_drops_losers_and_stars_and_keeps_ties_with_a_notice(crd, tmp_path):
    result = CliRunner().invoke(app, ["run", "--name", "crd", "--redshift", str(crd["path"]),
                                      "--object", str(crd["collection"]), "--output-dir",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    stderr = result.stderr
    assert f"Note: {ROWS} rows read as a Combine Redshift Catalogs product" in stderr
    assert f"Note: {STARS} CRD stars dropped (tie_result 3 or z_flag_homogenized 6)" in stderr
    assert f"Note: {PAIRS} CRD duplicates that lost their tie dropped (tie_result 0)" in stderr
    assert f"Note: {2 * TIES} CRD unresolved ties kept (tie_result 2)" in stderr

    data_path = Path(result.stdout.split(" -> ")[1].strip())
    record = json.loads(data_path.with_suffix(".json").read_text())
    redshift = record["inputs"]["redshift"]
    assert redshift["columns"] == {"ra": "ra", "dec": "dec", "z": "z", "z_err": "z_err",
                                   "z_flag": "z_flag_homogenized", "id": "CRD_ID"}
    cleaning = redshift["cleaning"]
    assert cleaning["rows_read"] == cleaning["crd_rows"] == ROWS
    assert cleaning["dropped_crd_stars"] == STARS
    assert cleaning["dropped_crd_lost_duplicates"] == PAIRS
    assert cleaning["kept_crd_unresolved_ties"] == 2 * TIES
    assert cleaning["rows_kept"] == SINGLES + PAIRS + 2 * TIES == record["summary"]["specz_rows"]

    product = pd.read_parquet(data_path)
    frame = crd["frame"]
    kept = frame[frame["tie_result"].isin([1, 2])]
    expected = expected_ids(crd, kept)
    assert set(product["CRD_ID"]) == expected and len(product) == len(expected)
    # Both measurements of an unresolved tie that has an object are in the product.
    ties = kept[kept["tie_result"] == 2]
    in_product = ties["CRD_ID"].isin(product["CRD_ID"]).groupby(ties["group_id"]).sum()
    assert set(in_product) == {0, 2} and (in_product == 2).sum() > 0
    assert product["CRD_ID"].map(type).eq(str).all()
    assert set(frame.columns) <= set(product.columns)  # every CRD column kept
    assert product["tie_result"].dtype == np.int8


@pytest.mark.parametrize(
    ("mode", "kept_ties", "counts"),
    [
        ("drop-ties", [1], {"dropped_crd_stars": STARS, "dropped_crd_lost_duplicates": PAIRS,
                            "dropped_crd_unresolved_ties": 2 * TIES}),
        ("keep-all", [0, 1, 2, 3], {"kept_crd_stars": STARS, "kept_crd_lost_duplicates": PAIRS,
                                    "kept_crd_unresolved_ties": 2 * TIES}),
    ],
)
def test_options_choose_other_rows(crd, tmp_path, mode, kept_ties, counts):
    product = make_training_set("crd", crd["path"], crd["collection"], crd_duplicates=mode,
                                output_dir=str(tmp_path))
    cleaning = product.inputs["redshift"]["cleaning"]
    assert {key: cleaning[key] for key in counts} == counts
    frame = crd["frame"]
    kept = frame[frame["tie_result"].isin(kept_ties)]
    assert cleaning["rows_kept"] == len(kept)
    assert set(pd.read_parquet(product.files[0])["CRD_ID"]) == expected_ids(crd, kept)
    assert product.parameters["crd_duplicates"] == mode


def test_registered_crd_catalog_records_its_roles(crd, registry):
    from tsmaker.manage.catalogs import add_redshift_catalog

    record = add_redshift_catalog("crd", crd["path"], {}, registry=registry)
    assert record["columns"]["id"] == "CRD_ID"
    assert record["columns"]["z_flag"] == "z_flag_homogenized"
    assert record["columns"]["z"] == "z"  # not ambiguous with the extras z_spec, zspec


def test_selection_without_tie_result_drops_stars_by_flag():
    frame = pd.DataFrame({"CRD_ID": ["a", "b", "c"], "z_flag_homogenized": [4.0, 6.0, np.nan]})
    keep, counts = select_crd_rows(frame, "keep-ties")
    assert keep.tolist() == [True, False, True]
    assert counts == {"crd_rows": 3, "dropped_crd_stars": 1, "dropped_crd_lost_duplicates": 0,
                      "kept_crd_unresolved_ties": 0}


def test_a_bad_choice_is_refused_with_the_flag(crd, tmp_path):
    result = CliRunner().invoke(app, ["run", "--name", "crd", "--redshift", str(crd["path"]),
                                      "--object", str(crd["collection"]),
                                      "--crd-duplicates", "some"])
    from tsmaker.errors import ParameterError

    assert isinstance(result.exception, ParameterError)
    assert result.exception.message("cli") == (
        "--crd-duplicates 'some' is not one of: keep-ties, drop-ties, keep-all")
