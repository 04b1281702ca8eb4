"""The RAIL hand-off: a RAIL informer stage trains on a tsmaker product read through
tables_io, with no renaming by hand (pz-rail-base is a test extra)."""

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
from oracle import oracle_collection, synthetic_catalogs

from tsmaker import make_training_set, read_product

tables_io = pytest.importorskip("tables_io")
train_z = pytest.importorskip("rail.estimation.algos.train_z")
rail_data = pytest.importorskip("rail.core.data")

BANDS = "ugrizy"


@pytest.fixture
def quiet_rail():
    """RAIL 2.x logs through structlog's default printer on stdout; keep it to warnings."""
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _, specz = synthetic_catalogs()
    path = tmp_path_factory.mktemp("rail") / "specz.parquet"
    specz.to_parquet(path, index=False)
    return {"path": path, "collection": oracle_collection(tmp_path_factory, 400)}


def has_tables_io_layout(path: str) -> bool:
    """True when the HDF5 file holds tables_io's native layout: a group of 1-D datasets."""
    with h5py.File(path, "r") as handle:
        group = handle.get("photometry")
        return isinstance(group, h5py.Group) and all(
            isinstance(item, h5py.Dataset) and item.ndim == 1 for item in group.values()
        )


def test_train_z_informer_trains_on_a_product(data, tmp_path, quiet_rail):
    product = make_training_set("rail", data["path"], data["collection"], naming="rail",
                                output_format="hdf5", radius_arcsec=2.0,
                                output_dir=str(tmp_path))
    path = product.files[0]
    assert path.endswith(".hdf5")  # tables_io chooses its reader by the suffix
    assert has_tables_io_layout(path)

    table = read_product(product.full_name)
    # tables_io reads it as RAIL does, the columns as tsmaker named them.
    read = tables_io.read(path)["photometry"]
    for band in BANDS:
        for name in (f"mag_{band}_lsst", f"mag_err_{band}_lsst"):
            np.testing.assert_array_equal(read[name], table[name].to_numpy(), err_msg=name)
    assert (np.asarray(read["mag_u_lsst"]) == 99.0).any()  # non-detections, RAIL's value
    np.testing.assert_array_equal(read["redshift"], table["redshift"].to_numpy())

    # The informer with its default configuration (group "photometry", column "redshift").
    stage = train_z.TrainZInformer.make_stage(name="inform_trainz", output_mode="return")
    model = stage.inform(rail_data.TableHandle("training_data", path=path)).data

    # TrainZ's model by hand: the redshift histogram on 301 bins over [0, 3], per unit z.
    edges = np.linspace(0.0, 3.0, 302)
    counts, _ = np.histogram(np.sort(table["redshift"].to_numpy()), edges)
    centres = edges[:-1] + np.diff(edges) / 2
    np.testing.assert_allclose(model.pdf, counts / (edges[2] - edges[1]))
    np.testing.assert_allclose(model.zgrid, centres)
    assert model.zmode == centres[np.argmax(counts)]
    assert counts.sum() == product.rows


def test_a_product_in_another_group_trains_a_stage_configured_for_it(data, tmp_path,
                                                                     quiet_rail):
    product = make_training_set("grouped", data["path"], data["collection"], naming="rail",
                                output_format="hdf5", hdf5_group="training", radius_arcsec=2.0,
                                output_dir=str(tmp_path))
    path = product.files[0]
    assert list(tables_io.read(path)) == ["training"]
    assert product.parameters["hdf5_group"] == "training"
    stage = train_z.TrainZInformer.make_stage(name="inform_grouped", output_mode="return",
                                              hdf5_groupname="training")
    model = stage.inform(rail_data.TableHandle("training_data", path=path)).data
    assert model.pdf.sum() * (3.0 / 301) == pytest.approx(product.rows)

    # tsmaker itself still reads it (products plot, summaries): the group carries its
    # parameters, and the values are the ones tables_io reads.
    from tsmaker.formats.tables import product_columns, read_product_table

    frame = read_product_table(Path(path))
    assert len(frame) == product.rows
    assert product_columns(Path(path)) == list(frame.columns)
    np.testing.assert_array_equal(frame["redshift"].to_numpy(),
                                  tables_io.read(path)["training"]["redshift"])


@pytest.mark.parametrize("group", ["", "a/b", ".", " photometry"])
def test_a_group_that_is_no_hdf5_group_name_is_refused(data, tmp_path, group):
    from tsmaker.errors import ParameterError

    with pytest.raises(ParameterError) as refused:
        make_training_set("bad", data["path"], data["collection"], output_format="hdf5",
                          hdf5_group=group, output_dir=str(tmp_path))
    assert refused.value.message("cli") == (
        f"--hdf5-group {group!r} must be a group name "
        "(not empty, '.' or '..'; no '/', no surrounding spaces); "
        "use e.g. --hdf5-group photometry")
