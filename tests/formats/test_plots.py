"""Product overview plots: a real registry, real product files, real PNGs."""

import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from typer.testing import CliRunner

from tsmaker.cli.app import app
from tsmaker.errors import InputError, ProductError
from tsmaker.formats import plot_content
from tsmaker.formats.plot_content import plot_ra
from tsmaker.manage.products import plot_product, sky_of
from tsmaker.registry.database import Registry
from tsmaker.registry.records import ProductRecord

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BANDS = ["g", "r", "i"]
SPECZ_ROWS = 12
MATCHED_SPECZ = 8  # spec-z 0..7 are matched, 8..11 are not
#: Figure size 18 x 15 inches at 100 dpi.
PNG_SHAPE = (1500, 1800)


def make_specz() -> pd.DataFrame:
    rows = np.arange(SPECZ_ROWS)
    return pd.DataFrame({
        "specz_id": [f"SZ{row:03d}" for row in rows],
        # Straddles RA = 0, as a field in Stripe 82 would.
        "ra": np.mod(358.5 + rows * 0.25, 360.0),
        "dec": -1.0 + rows * 0.1,
        "z": 0.1 + rows * 0.05,
    })


def make_product_table(specz: pd.DataFrame) -> pd.DataFrame:
    """Matches of spec-z 0..7: one nearest object each, and a second one for 0 and 1."""
    matched = specz.iloc[:MATCHED_SPECZ]
    second = specz.iloc[:2]
    frame = pd.concat([matched, second], ignore_index=True)
    n_rows = len(frame)
    rank = np.array([1] * MATCHED_SPECZ + [2, 2], dtype=np.int64)
    frame["objectId"] = np.arange(n_rows, dtype=np.int64) + 10_000
    frame["coord_ra"] = frame["ra"] + 1e-5
    frame["coord_dec"] = frame["dec"] - 1e-5
    for offset, band in enumerate(BANDS):
        flux = 1000.0 * (1 + np.arange(n_rows)) * (offset + 1)
        frame[f"{band}_cModelFlux"] = flux
        frame[f"{band}_cModelFluxErr"] = flux / 50.0
        frame[f"{band}_cModelMag"] = -2.5 * np.log10(flux) + 31.4
        frame[f"{band}_cModelMagErr"] = 2.5 / np.log(10) / 50.0
    frame["match_distance_arcsec"] = np.where(rank == 1, 0.1, 0.7) + np.arange(n_rows) * 0.01
    frame["match_rank"] = rank
    return frame


def register(registry: Registry, data_path: Path, specz_path: Path, *, magnitudes: bool = True,
             rows: int = 10, name: str = "plottest", summary: dict | None = None
             ) -> ProductRecord:
    product = registry.create_product(
        name=name,
        description="made by hand for the plot tests",
        parameters={"flux_type": "cModel", "bands": BANDS, "dust": "none",
                    "magnitudes": magnitudes},
        inputs={"redshift": {
            "location": str(specz_path),
            "columns": {"ra": "ra", "dec": "dec", "z": "z", "id": "specz_id"},
        }},
        versions={"tsmaker": "test"},
    )
    return registry.finish_product(product.id, rows=rows, files=[str(data_path)],
                                   summary={"matched_fraction": MATCHED_SPECZ / SPECZ_ROWS,
                                            **(summary or {})})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("TSMAKER_HOME", str(folder))
    return folder


@pytest.fixture
def product(home: Path, tmp_path: Path) -> ProductRecord:
    specz = make_specz()
    specz_path = tmp_path / "specz.parquet"
    specz.to_parquet(specz_path, index=False)
    data_path = tmp_path / "products" / "plottest_1.parquet"
    data_path.parent.mkdir()
    make_product_table(specz).to_parquet(data_path, index=False)
    with Registry.open_default() as registry:
        return register(registry, data_path, specz_path)


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = matplotlib.image.imread(path)
    assert image.ndim == 3
    assert image.shape[:2] == PNG_SHAPE
    # Not a blank canvas: the panels drew something darker than the background.
    assert image[..., :3].min() < 0.5


def test_default_png_is_next_to_the_data_file(product: ProductRecord) -> None:
    path = plot_product(product.full_name)

    assert path == Path(product.files[0]).with_name("plottest_1.png")
    assert_png(path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["plottest_1.parquet", "plottest_1.png"]


def test_custom_output_path_leaves_no_temporary_file(product: ProductRecord,
                                                     tmp_path: Path) -> None:
    target = tmp_path / "plots" / "overview.png"
    target.parent.mkdir()

    path = plot_product(str(product.id), target)

    assert path == target
    assert_png(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["overview.png"]
    assert not Path(product.files[0]).with_suffix(".png").exists()


def test_output_folder_must_exist(product: ProductRecord, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        plot_product(product.full_name, tmp_path / "nowhere" / "x.png")


def test_product_with_fluxes_only_is_plotted(home: Path, tmp_path: Path) -> None:
    specz = make_specz()
    specz_path = tmp_path / "specz.csv"
    specz.to_csv(specz_path, index=False)
    table = make_product_table(specz)
    table = table.drop(columns=[c for c in table.columns if "Mag" in c])
    data_path = tmp_path / "fluxes_1.fits"
    Table.from_pandas(table).write(data_path)
    with Registry.open_default() as registry:
        record = register(registry, data_path, specz_path, magnitudes=False, name="fluxes")

    assert_png(plot_product(record.full_name))


def test_failed_product_is_refused(home: Path, tmp_path: Path) -> None:
    with Registry.open_default() as registry:
        started = registry.create_product(name="broken", description="", parameters={},
                                          inputs={}, versions={})
        registry.fail_product(started.id, message="RuntimeError: disk full")

    with pytest.raises(ProductError, match=r"broken_1 is failed \(RuntimeError: disk full\)"):
        plot_product("broken_1")
    assert not list(tmp_path.rglob("*.png"))


def test_missing_data_file_is_a_product_error(product: ProductRecord) -> None:
    Path(product.files[0]).unlink()

    with pytest.raises(ProductError, match="is missing"):
        plot_product(product.full_name)


def test_unknown_product_is_a_product_error(home: Path) -> None:
    with pytest.raises(ProductError, match="unknown product 'nope'"):
        plot_product("nope")


def test_sky_flags_matched_spec_z_by_id(product: ProductRecord) -> None:
    content = plot_content.ProductContent.read(product, Path(product.files[0]))

    sky = sky_of(product, content)

    assert sky.problem is None
    assert sky.matched.tolist() == [True] * MATCHED_SPECZ + [False] * (SPECZ_ROWS - MATCHED_SPECZ)
    assert sky.matched_fraction == pytest.approx(MATCHED_SPECZ / SPECZ_ROWS)
    np.testing.assert_allclose(sky.ra, make_specz()["ra"])


def test_sky_matches_str_ids_with_fits_bytes_ids(product: ProductRecord, tmp_path: Path) -> None:
    fits_path = tmp_path / "specz.fits"
    Table.from_pandas(make_specz()).write(fits_path)
    with Registry.open_default() as registry:
        record = register(registry, Path(product.files[0]), fits_path, name="fitsspecz")
    content = plot_content.ProductContent.read(record, Path(record.files[0]))

    sky = sky_of(record, content)

    assert sky.matched.sum() == MATCHED_SPECZ


def test_cli_plot_of_a_failed_product_raises_product_error(home: Path) -> None:
    with Registry.open_default() as registry:
        started = registry.create_product(name="broken", description="", parameters={},
                                          inputs={}, versions={})
        registry.fail_product(started.id, message="boom")

    result = CliRunner().invoke(app, ["products", "plot", "broken_1"])

    assert result.exit_code == 1
    assert isinstance(result.exception, ProductError)
    assert result.stdout == ""


def test_sky_uses_specz_row_and_the_run_cuts(home: Path, tmp_path: Path) -> None:
    """Without an id the key is the row number; spec-z the run cut away are not drawn."""
    specz = make_specz().drop(columns="specz_id")
    specz_path = tmp_path / "specz.csv"
    specz.to_csv(specz_path, index=False)
    table = make_product_table(make_specz()).drop(columns="specz_id")
    # Clash with an object column: the run renamed the spec-z z to z_specz.
    table = table.rename(columns={"z": "z_specz"})
    table["specz_row"] = list(range(MATCHED_SPECZ)) + [0, 1]
    data_path = tmp_path / "rows_1.parquet"
    table.to_parquet(data_path, index=False)
    with Registry.open_default() as registry:
        started = registry.create_product(
            name="rows", description="",
            parameters={"flux_type": "cModel", "bands": BANDS, "dust": "none",
                        "magnitudes": True, "z_max": 0.5},
            inputs={"redshift": {"location": str(specz_path),
                                 "columns": {"ra": "ra", "dec": "dec", "z": "z_specz"}}},
            versions={},
        )
        record = registry.finish_product(started.id, rows=len(table), files=[str(data_path)],
                                         summary={})
    content = plot_content.ProductContent.read(record, data_path)

    sky = sky_of(record, content)

    # z = 0.1 + 0.05 * row, so z_max 0.5 keeps rows 0..8: 8 matched, 1 not.
    assert sky.problem is None
    assert sky.matched.tolist() == [True] * MATCHED_SPECZ + [False]
    assert_png(plot_product("rows_1"))


def test_sky_panel_explains_a_missing_specz_file(product: ProductRecord) -> None:
    Path(product.inputs["redshift"]["location"]).unlink()
    content = plot_content.ProductContent.read(product, Path(product.files[0]))

    sky = sky_of(product, content)

    assert sky.matched is None
    assert "does not exist" in sky.problem
    assert_png(plot_product(product.full_name))


def test_cli_plot_prints_the_path(product: ProductRecord, tmp_path: Path) -> None:
    png = tmp_path / "cli.png"

    result = CliRunner().invoke(app, ["products", "plot", product.full_name, "-o", str(png)])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{png}\n"
    assert_png(png)


# ------------------------------------------------------------ coverage figures


def representativeness_figures() -> dict:
    """Three photometric objects and one training galaxy on the (r; g-r, r-i) grid of g, r, i.

    Objects A and C share the cell (r 21-22, g-r 0-0.5, r-i 0-0.5) of the training galaxy;
    B is alone in (r 21-22, g-r 1-1.5, r-i 1-1.5).
    """
    from tsmaker.science.coverage import summarise
    from tsmaker.science.representativeness import choose_grid, count_objects

    grid = choose_grid(BANDS)
    photometric = count_objects({"g": np.array([21.2, 22.0, 21.3]),
                                 "r": np.array([21.0, 21.0, 21.1]),
                                 "i": np.array([20.9, 20.0, 21.0])}, BANDS, grid)
    training = count_objects({"g": np.array([21.25]), "r": np.array([21.05]),
                              "i": np.array([20.95])}, BANDS, grid)
    return summarise(photometric, training, bands=BANDS, grid=grid, sampling={"rate": 1.0},
                     magnitudes={"flux_type": "cModel"})


def test_cli_plot_json_carries_the_png_and_the_coverage_numbers(home: Path, tmp_path: Path):
    specz = make_specz()
    specz_path = tmp_path / "specz.parquet"
    specz.to_parquet(specz_path, index=False)
    data_path = tmp_path / "covered.parquet"
    make_product_table(specz).to_parquet(data_path, index=False)
    with Registry.open_default() as registry:
        product = register(registry, data_path, specz_path, name="covered",
                           summary={"representativeness": representativeness_figures()})
    png = tmp_path / "covered.png"

    result = CliRunner().invoke(app, ["products", "plot", product.full_name, "-o", str(png),
                                      "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["png"] == str(png) and payload["product"] == product.full_name
    assert_png(png)
    coverage = payload["coverage"]
    assert coverage["coverage_fraction"] == pytest.approx(2 / 3, abs=1e-6)
    view = coverage["colour_colour_map"]
    assert (view["x"], view["y"]) == ("g-r", "r-i")
    photometric = np.array(view["photometric"])
    assert photometric[1, 1] == 2 and photometric[3, 3] == 1 and photometric.sum() == 3
    assert np.array(view["training"])[1, 1] == 1 and np.array(view["training"]).sum() == 1
    assert view["covered_fraction"][1][1] == 1.0 and view["covered_fraction"][3][3] == 0.0
    assert (view["uncovered_cells"], view["uncovered_photometric_objects"]) == (1, 1)
    distributions = coverage["magnitude_distributions"]
    step = distributions["bin_edges"][1] - distributions["bin_edges"][0]
    assert sum(distributions["photometric"]["r"]) * step == pytest.approx(1.0)


def test_cli_plot_json_of_a_product_without_figures(product: ProductRecord, tmp_path: Path):
    result = CliRunner().invoke(app, ["products", "plot", product.full_name, "-o",
                                      str(tmp_path / "plain.png"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["coverage"] is None


# ----------------------------------------------------------------------- plot_ra


@pytest.mark.parametrize(
    ("ra", "expected"),
    [
        ([359.0, 1.0, 0.5], [-1.0, 1.0, 0.5]),  # straddles 0: shifted
        ([150.0, 210.0, 179.0], [150.0, 210.0, 179.0]),  # straddles 180: unchanged
        ([10.0, 20.0], [10.0, 20.0]),
        ([350.0, 355.0], [350.0, 355.0]),  # all above 180 but not across 0
    ],
)
def test_plot_ra(ra: list[float], expected: list[float]) -> None:
    assert plot_ra(ra).tolist() == expected
