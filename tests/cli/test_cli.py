"""The command line as users run it: real ``python -m tsmaker`` processes.

Exit codes and messages are handled in ``tsmaker.cli.app.main()``, so every case runs the
CLI as a subprocess and checks the exact exit code, that a refused input gives one
``Error: ...`` line on stderr (no traceback) naming the value and the fix, and that
nothing was registered as done. Subprocesses are independent, so each group of cases
is started together on a small thread pool to keep the module fast.
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from cli_helpers import Completed, closed_port, without_library_warnings
from conftest import DP1_COLLECTION, SAMPLES
from oracle import brute_force_matches, oracle_collection, synthetic_catalogs

from tsmaker.registry.database import Registry

PARALLEL = max(6, 2 * (os.cpu_count() or 1))
TIMEOUT_SECONDS = 300

pytestmark = pytest.mark.slow  # the CLI as a real process


def tsmaker(*args: str, home: Path, env: Mapping[str, str] | None = None) -> Completed:
    """Run ``python -m tsmaker ARGS`` with TSMAKER_HOME=home, stdin not a terminal."""
    environment = dict(os.environ)
    for name in ("TSMAKER_DUSTMAPS_DIR", "TSMAKER_SCHEDULER", "TSMAKER_DEBUG"):
        environment.pop(name, None)
    environment.update({"TSMAKER_HOME": str(home), "COLUMNS": "200"}, **(env or {}))
    finished = subprocess.run(
        [sys.executable, "-m", "tsmaker", *args], env=environment, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
    )
    return Completed(tuple(args), finished.returncode, finished.stdout, finished.stderr)


def run_together(
    cases: Mapping[str, Sequence[str]], home: Path,
    environments: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Completed]:
    """Run several CLI invocations at once; results by case key."""
    environments = environments or {}
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {key: pool.submit(tsmaker, *args, home=home, env=environments.get(key))
                   for key, args in cases.items()}
        return {key: future.result() for key, future in futures.items()}


def assert_one_error_line(result: Completed, code: int, *fragments: str) -> str:
    """Exit ``code``, nothing on stdout, one ``Error:`` line holding every fragment."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code == code, (result.args, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def products_named(home: Path, name: str) -> list:
    with Registry(home / "registry.sqlite") as registry:
        return [p for p in registry.list_products() if p.name == name]


# ------------------------------------------------------------------------ inputs




@dataclass(frozen=True)
class Inputs:
    folder: Path
    collection: Path
    objects: pd.DataFrame
    specz: pd.DataFrame
    specz_path: Path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    """The oracle's synthetic objects as a real HATS collection, and its spec-z file."""
    folder = tmp_path_factory.mktemp("cli")
    objects, specz = synthetic_catalogs()
    collection = oracle_collection(tmp_path_factory, 400)
    specz_path = folder / "specz.parquet"
    specz.to_parquet(specz_path, index=False)
    return Inputs(folder, collection, objects, specz, specz_path)


def _bad_files(inputs: Inputs) -> dict[str, Path]:
    """Tiny broken or suspicious redshift files, written next to the good one."""
    from astropy.io import fits

    folder = inputs.folder / "bad"
    folder.mkdir()
    files = {}
    ambiguous = inputs.specz.assign(RA_deg=inputs.specz["ra"], DEC_deg=inputs.specz["dec"],
                                    RAJ2000=inputs.specz["ra"], DEJ2000=inputs.specz["dec"])
    files["ambiguous"] = folder / "ambiguous.parquet"
    ambiguous.to_parquet(files["ambiguous"], index=False)
    data = inputs.specz_path.read_bytes()
    files["truncated"] = folder / "truncated.parquet"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["binary_csv"] = folder / "garbage.csv"
    files["binary_csv"].write_bytes(bytes(range(256)) * 16)
    files["ragged_csv"] = folder / "ragged.csv"
    files["ragged_csv"].write_text("ra,dec,z\n10.0,5.0,0.1\n11.0,6.0,0.2,7,8\n")
    files["image_fits"] = folder / "image.fits"
    fits.PrimaryHDU(np.zeros((8, 8), dtype=np.float32)).writeto(files["image_fits"])
    n = 30
    files["radians"] = folder / "radians.csv"
    pd.DataFrame({"ra": np.linspace(0.0, 6.2, n), "dec": np.linspace(-1.5, 1.5, n),
                  "z": np.full(n, 0.5)}).to_csv(files["radians"], index=False)
    files["hours"] = folder / "hours.csv"
    pd.DataFrame({"ra": np.linspace(0.0, 23.9, n), "dec": np.linspace(-60.0, 10.0, n),
                  "z": np.full(n, 0.5)}).to_csv(files["hours"], index=False)
    files["dec_outside"] = folder / "dec_outside.csv"
    pd.DataFrame({"ra": [10.0, 20.0, 30.0], "dec": [0.0, 95.5, 0.0],
                  "z": [0.1, 0.2, 0.3]}).to_csv(files["dec_outside"], index=False)
    files["duplicated_ids"] = folder / "duplicated_ids.csv"
    pd.DataFrame({"ra": [10.0, 20.0, 30.0], "dec": [0.0, 5.0, 0.0], "z": [0.1, 0.2, 0.3],
                  "sid": [7, 8, 7]}).to_csv(files["duplicated_ids"], index=False)
    files["empty"] = folder / "empty.csv"
    files["empty"].write_text("ra,dec,z\n")
    files["not_hats"] = folder / "empty_folder"
    files["not_hats"].mkdir()
    files["plain_file"] = folder / "a_regular_file"
    files["plain_file"].write_text("not a folder\n")
    return files


def _mixed_specz(inputs: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The oracle spec-z with 4 NaN coordinates and 102 RA values moved by -360 / +360.

    Returns the file's frame and the frame the run should match (NaN rows gone, RA back).
    """
    specz = inputs.specz.copy()
    specz.loc[[0, 5, 9], "ra"] = np.nan
    specz.loc[[3], "dec"] = np.nan
    specz.loc[10:60, "ra"] -= 360.0
    specz.loc[100:150, "ra"] += 360.0
    expected = inputs.specz.drop(index=[0, 3, 5, 9]).reset_index(drop=True)
    return specz, expected


ODD_NAME = "../my set/α"


@pytest.fixture(scope="module")
def cli(inputs: Inputs, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every independent CLI case of this module, run together against one home."""
    home = tmp_path_factory.mktemp("cli_home")
    files = _bad_files(inputs)
    mixed, _ = _mixed_specz(inputs)
    mixed_path = inputs.folder / "mixed.parquet"
    mixed.to_parquet(mixed_path, index=False)
    # Two spec-z inside the catalog's footprint with no object within 1 arcsec (spec-z
    # outside it are refused: tests/run/test_failure_modes.py).
    far_path = inputs.folder / "far.parquet"
    matched = brute_force_matches(inputs.specz, inputs.objects, 1.0, 1)["specz_id"]
    far = inputs.specz[~inputs.specz["specz_id"].isin(matched)].iloc[:2]
    far.to_parquet(far_path, index=False)
    odd_output = inputs.folder / "odd_output"
    repeated_path = inputs.folder / "repeated_id.parquet"
    repeated = inputs.specz.copy()
    repeated.loc[1, "specz_id"] = repeated.loc[0, "specz_id"]
    repeated.to_parquet(repeated_path, index=False)
    jades_path = inputs.folder / "jades_dr3_random_sample.parquet"
    inputs.specz.rename(columns={"ra": "RA_TARG", "dec": "Dec_TARG", "z": "z_Spec"}).assign(
        unique_id=[f"{i // 2}_Deep" for i in range(len(inputs.specz))],
        z_Spec_flag=["ABCDE"[i % 5] for i in range(len(inputs.specz))],
    ).drop(columns=["specz_id", "z_err", "z_flag"]).to_parquet(jades_path, index=False)
    url = f"http://127.0.0.1:{closed_port()}/x"
    collection, specz = str(inputs.collection), str(inputs.specz_path)

    def run(name: str, redshift: str = specz, object_: str = collection, *extra: str) -> list:
        return ["run", "--name", name, "--redshift", redshift, "--object", object_, *extra]

    cases: dict[str, list[str]] = {
        # issue 2: bad flags and references
        "missing_file": run("missing_file", str(inputs.folder / "nope.parquet")),
        "missing_z_column": run("missing_z_column", specz, collection, "--z", "zz"),
        "ambiguous": run("ambiguous", str(files["ambiguous"])),
        "unknown_object": run("unknown_object", specz, "no_such_catalog"),
        "dp1_unregistered": run("dp1_unregistered", specz, "dp1"),
        "unknown_flux_type": run("unknown_flux_type", specz, collection, "--flux-type", "foo"),
        "radius_zero": run("radius_zero", specz, collection, "--radius", "0"),
        "radius_negative": run("radius_negative", specz, collection, "--radius", "-1"),
        "neighbors_zero": run("neighbors_zero", specz, collection, "--neighbors", "0"),
        "unwritable_output": run("unwritable_output", specz, collection, "--output-dir",
                                 str(files["plain_file"] / "sub")),
        "unknown_format": run("unknown_format", specz, collection, "--format", "xls"),
        # issue 6: bad files and values
        "truncated": run("truncated", str(files["truncated"])),
        "binary_csv": run("binary_csv", str(files["binary_csv"])),
        "ragged_csv": run("ragged_csv", str(files["ragged_csv"])),
        "image_fits": run("image_fits", str(files["image_fits"])),
        "radians": run("radians", str(files["radians"])),
        "hours": run("hours", str(files["hours"])),
        "dec_outside": run("dec_outside", str(files["dec_outside"])),
        "duplicated_ids": run("duplicated_ids", str(files["duplicated_ids"]), collection,
                              "--id", "sid"),
        "empty": run("empty", str(files["empty"])),
        "filtered_to_nothing": run("filtered_to_nothing", specz, collection, "--z-max",
                                   "0.001"),
        "not_hats": run("not_hats", specz, str(files["not_hats"])),
        "url_no_answer": run("url_no_answer", specz, url),
        # runs that succeed
        "mixed": run("mixed", str(mixed_path)),
        "zero_matches": run("zero_matches", str(far_path), collection, "--json"),
        "odd_name": run(ODD_NAME, specz, collection, "--quiet", "--format", "csv",
                        "--output-dir", str(odd_output)),
        "id_none": run("id_none", specz, collection, "--id", "none", "--json"),
        "repeated_id": run("repeated_id", str(repeated_path), collection, "--json"),
        # catalogs
        "add_2dflens": ["catalogs", "add-redshift", "twodf",
                        str(SAMPLES / "2dflens_final_release_random_sample.parquet"), "--json"],
        "add_ozdes": ["catalogs", "add-redshift", "ozdes",
                      str(SAMPLES / "ozdes_dr2_random_sample.parquet"), "--json"],
        "add_jades": ["catalogs", "add-redshift", "jades", str(jades_path)],
        "flux_types": ["catalogs", "flux-types", str(DP1_COLLECTION), "--json"],
    }
    # Python shows deprecation warnings (as many CI setups ask): --quiet must still be quiet.
    results = run_together(cases, home, {"odd_name": {"PYTHONWARNINGS": "default"}})
    return {"home": home, "files": files, "url": url, "odd_output": odd_output,
            "results": results, "repeated_first_id": repeated.loc[0, "specz_id"]}


# ------------------------------------------------------------- refused inputs

REFUSALS: dict[str, tuple[str, ...]] = {
    "missing_file": ("'{folder}/nope.parquet'", "check the path",
                     "tsmaker catalogs add-redshift"),
    "missing_z_column": ("--z 'zz'", "no such column", "specz_id, ra, dec, z, z_err, z_flag"),
    "ambiguous": ("several column pairs could be RA/Dec", "RA_deg/DEC_deg, RAJ2000/DEJ2000",
                  "--ra COLUMN --dec COLUMN"),
    "unknown_object": ("'no_such_catalog'", "tsmaker catalogs list"),
    "dp1_unregistered": ("'dp1'", "no location registered",
                         "`tsmaker catalogs add-object dp1 PATH_OR_URL --profile dp1`"),
    "unknown_flux_type": ("'foo'", "found: cModel, psf", "tsmaker catalogs flux-types"),
    "radius_zero": ("--radius 0.0", "greater than 0", "--radius 1.0"),
    "radius_negative": ("--radius -1.0", "greater than 0", "--radius 1.0"),
    "neighbors_zero": ("--neighbors 0", ">= 1"),
    "unwritable_output": ("'{folder}/bad/a_regular_file/sub'", "not writable",
                          "--output-dir"),
    "unknown_format": ("--format 'xls'", "parquet, csv, fits, hdf5, hats"),
    "truncated": ("cannot read parquet file", "truncated.parquet", "is complete"),
    "binary_csv": ("garbage.csv", "not a text CSV file"),
    "ragged_csv": ("cannot read csv file", "ragged.csv", "line 3"),
    "image_fits": ("image.fits", "no table extension", "FITS binary table"),
    "radians": ("look like radians", "--coord-unit rad", "0..6.2"),
    "hours": ("RA looks like hours", "--coord-unit hour", "0..23.9"),
    "dec_outside": ("outside [-90, 90]", "95.5", "--dec"),
    "duplicated_ids": ("'sid'", "repeated ids", "e.g. 7", "--id none"),
    "empty": ("empty.csv", "has no rows"),
    "filtered_to_nothing": ("no spec-z left", "z max: {n_specz}", "--z-max"),
    "not_hats": ("empty_folder", "not a HATS catalog or collection"),
    "url_no_answer": ("{url}", "check the path or URL"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_bad_input_is_one_clear_error_line_and_nothing_is_registered(cli, inputs, case):
    fragments = [
        fragment.format(folder=inputs.folder, url=cli["url"], n_specz=len(inputs.specz))
        for fragment in REFUSALS[case]
    ]
    code = 2 if case == "unknown_format" else 1  # a wrong choice is a usage error
    assert_one_error_line(cli["results"][case], code, *fragments)
    assert products_named(cli["home"], case) == []


def test_unknown_format_is_a_usage_error_listing_the_formats(cli):
    # Checked by RunParameters.validate (a ParameterChoiceError), exit code 2 as for click's.
    line = assert_one_error_line(cli["results"]["unknown_format"], 2)
    listed = re.search(r"is not one of: (.*)$", line)
    assert listed is not None and listed[1].split(", ") == [
        "parquet", "csv", "fits", "hdf5", "hats"]


USAGE_ERRORS = {
    "missing_name_value": (["run", "--redshift", "x.parquet", "--object", "demo", "--name"],
                           "Option '--name' requires an argument"),
    # In the words of the web form (tests/web/test_web_guards.py), from the same function.
    "not_a_number": (["run", "--name", "x", "--radius", "abc"],
                     "Error: --radius 'abc' is not a number; use e.g. --radius 1.0\n"),
    "not_whole": (["run", "--name", "x", "--neighbors", "2.5"],
                  "Error: --neighbors '2.5' is not a whole number; use e.g. --neighbors 1\n"),
    "unknown_command": (["bogus"], "No such command 'bogus'"),
}


def test_usage_errors_exit_2_without_traceback(tmp_path):
    results = run_together({key: args for key, (args, _) in USAGE_ERRORS.items()}, tmp_path)
    for key, (_, fragment) in USAGE_ERRORS.items():
        result = results[key]
        assert "Traceback" not in result.stderr
        assert result.code == 2, (key, result.code, result.stderr)
        assert "Error:" in result.stderr and fragment in result.stderr, result.stderr
        assert "UsageError" not in result.stderr and "BadOptionUsage" not in result.stderr


# --------------------------------------------------------------- runs that work


def _only_product(home: Path, name: str):
    (product,) = products_named(home, name)
    return product


def test_run_prints_name_rows_and_path_on_stdout(cli, inputs):
    result = cli["results"]["mixed"]
    assert result.code == 0, result.stderr
    product = _only_product(cli["home"], "mixed")
    path = Path(product.files[0])
    assert result.stdout == f"mixed_{product.id}: {product.rows} rows -> {path}\n"
    assert path.is_absolute() and path.parent == (cli["home"] / "products").resolve()
    assert product.status == "done"
    assert pq.read_metadata(path).num_rows == product.rows > 0
    assert "Traceback" not in result.stderr


def test_nan_coordinates_are_dropped_and_counted(cli, inputs):
    result = cli["results"]["mixed"]
    assert result.code == 0, result.stderr
    assert "Note: 4 rows with NaN coordinates dropped" in result.stderr.splitlines()
    product = _only_product(cli["home"], "mixed")
    cleaning = product.inputs["redshift"]["cleaning"]
    assert cleaning["dropped_nan_coordinates"] == 4
    assert cleaning["rows_read"] == len(inputs.specz)
    assert cleaning["rows_kept"] == product.summary["specz_rows"] == len(inputs.specz) - 4
    assert "4 rows with NaN coordinates dropped" in product.summary["notices"]


def test_ra_outside_0_360_is_wrapped_and_still_matches(cli, inputs):
    result = cli["results"]["mixed"]
    assert result.code == 0, result.stderr
    assert "Note: 102 RA values wrapped into [0, 360)" in result.stderr.splitlines()
    product = _only_product(cli["home"], "mixed")
    written = pd.read_parquet(product.files[0])
    _, expected_specz = _mixed_specz(inputs)
    expected = brute_force_matches(expected_specz, inputs.objects, 1.0, 1)
    got = written[["specz_id", "objectId"]].sort_values("specz_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got.astype("int64"), expected[["specz_id", "objectId"]].astype("int64"))
    moved = set(inputs.specz.loc[10:60, "specz_id"]) | set(inputs.specz.loc[100:150, "specz_id"])
    assert len(moved & set(got["specz_id"])) >= 20, "the moved spec-z must really match"
    assert written["ra"].between(0.0, 360.0, inclusive="left").all()
    by_id = inputs.specz.set_index("specz_id")["ra"]
    np.testing.assert_allclose(written["ra"], by_id.loc[written["specz_id"]].to_numpy(),
                               rtol=0, atol=1e-9)


def test_zero_matches_give_an_empty_done_product(cli):
    result = cli["results"]["zero_matches"]
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == "done" and record["rows"] == 0
    assert record["summary"]["matched_specz"] == 0 and record["summary"]["specz_rows"] == 2
    assert _only_product(cli["home"], "zero_matches").status == "done"
    empty = pd.read_parquet(record["files"][0])
    full = pd.read_parquet(_only_product(cli["home"], "mixed").files[0])
    assert len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()


def test_zero_matches_say_so_in_a_notice(cli):
    record = json.loads(cli["results"]["zero_matches"].stdout)
    notices = record["summary"]["notices"]
    said = [notice for notice in notices
            if re.search(r"\bempty\b|\bno\b.*\b(match|object)", notice, re.IGNORECASE)]
    assert said, notices
    assert "1 arcsec" in said[0], "the notice names the radius that found nothing"


def test_json_prints_only_the_product_record(cli):
    result = cli["results"]["zero_matches"]
    assert result.code == 0 and result.stderr == ""
    record = json.loads(result.stdout)
    assert {"id", "name", "full_name", "status", "rows", "files", "parameters"} <= set(record)
    assert record["name"] == "zero_matches"
    assert record["full_name"] == f"zero_matches_{record['id']}"
    assert record["id"] == _only_product(cli["home"], "zero_matches").id
    assert len(record["files"]) == 2
    for name in record["files"]:
        assert Path(name).is_absolute() and Path(name).exists()
    assert record["parameters"]["radius_arcsec"] == 1.0
    assert record["parameters"]["n_neighbors"] == 1
    assert record["parameters"]["output_format"] == "parquet"


def test_quiet_run_with_path_separators_in_its_name(cli):
    result = cli["results"]["odd_name"]
    assert result.code == 0
    assert without_library_warnings(result.stderr) == []
    product = _only_product(cli["home"], ODD_NAME)  # the registry keeps the name as given
    data_file, sidecar = (Path(name) for name in product.files)
    assert result.stdout == f"{ODD_NAME}_{product.id}: {product.rows} rows -> {data_file}\n"
    output = cli["odd_output"].resolve()
    for path in (data_file, sidecar):
        assert path.is_absolute() and path.exists()
        assert path.parent == output, "the file must stay inside --output-dir"
        assert re.fullmatch(r"[A-Za-z0-9._-]+", path.name) and not path.name.startswith(".")
    assert data_file.name == f"my_set_{product.id}.csv"
    assert sorted(p.name for p in output.iterdir()) == sorted([data_file.name, sidecar.name])
    assert len(pd.read_csv(data_file)) == product.rows > 0


def test_quiet_run_prints_nothing_at_all_on_stderr(cli):
    result = cli["results"]["odd_name"]
    assert result.code == 0
    assert result.stderr == ""


def test_products_path_and_rm(cli):
    home = cli["home"]
    product = _only_product(home, ODD_NAME)
    data_file, sidecar = (Path(name) for name in product.files)

    path = tsmaker("products", "path", product.full_name, home=home)
    assert path.code == 0 and path.stdout == f"{data_file}\n"

    refused = tsmaker("products", "rm", product.full_name, home=home)
    assert_one_error_line(refused, 1, product.full_name, "--yes")
    assert data_file.exists() and products_named(home, ODD_NAME)

    removed = tsmaker("products", "rm", str(product.id), "--yes", home=home)
    assert removed.code == 0, removed.stderr
    assert not data_file.exists() and not sidecar.exists()
    assert products_named(home, ODD_NAME) == []
    gone = tsmaker("products", "path", product.full_name, home=home)
    assert_one_error_line(gone, 1, repr(product.full_name), "tsmaker products list")


# ------------------------------------------------------------------ catalogs


def test_add_redshift_detects_2dflens_columns(cli):
    result = cli["results"]["add_2dflens"]
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)
    frame = pd.read_parquet(SAMPLES / "2dflens_final_release_random_sample.parquet")
    assert frame["unique_id"].is_unique  # so detecting it as the id is right
    assert record["columns"] == {"ra": "RA", "dec": "Dec", "z": "z", "z_flag": "qual",
                                 "id": "unique_id"}
    assert record["row_count"] == 1000 and record["kind"] == "redshift"


def test_add_redshift_shows_what_it_chose_and_why(cli):
    result = cli["results"]["add_jades"]
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    lines = without_library_warnings(result.stderr)
    assert lines[0] == "Registered redshift catalog 'jades' (624 rows)"
    assert lines[1:7] == [
        "  ra     RA_TARG/Dec_TARG: target or fibre positions",
        "  dec    RA_TARG/Dec_TARG: target or fibre positions",
        "  z      z_Spec: a spectroscopic name",
        "  z_err  none found",
        "  z_flag z_Spec_flag: a common z_flag name",
        "  id     none: unique_id is not unique, rows keyed by specz_row",
    ]
    notes = "\n".join(lines[7:])
    assert "note: z_flag: z_Spec_flag: letter grades, A best, kept as they are" in notes
    assert ("note: id: unique_id is not a unique id (624 rows share an id, e.g. '0_Deep'), so "
            "the spec-z are keyed by specz_row") in notes


def test_id_none_and_a_repeated_id_key_the_spec_z_by_row(cli):
    forced = cli["results"]["id_none"]
    assert forced.code == 0, forced.stderr
    record = json.loads(forced.stdout)
    assert "id" not in record["inputs"]["redshift"]["columns"]
    detected = cli["results"]["repeated_id"]
    assert detected.code == 0, detected.stderr
    record = json.loads(detected.stdout)
    assert "id" not in record["inputs"]["redshift"]["columns"]
    said = [n for n in record["summary"]["notices"] if n.startswith("id: specz_id")]
    assert said == [
        "id: specz_id is not a unique id (2 rows share an id, e.g. "
        f"{int(cli['repeated_first_id'])}), so the spec-z are keyed by specz_row, their row in "
        "the file; name a unique column with --id COLUMN"]
    frame = pd.read_parquet(record["files"][0])
    assert frame["specz_row"].is_unique and frame["specz_id"].duplicated().sum() <= 1


def test_add_redshift_detects_ozdes_columns(cli):
    result = cli["results"]["add_ozdes"]
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["columns"] == {"ra": "Alpha_J2000", "dec": "Delta_J2000", "z": "z",
                                 "z_flag": "qop", "id": "OzDES_ID"}
    assert record["row_count"] == 1000


def _flux_types_from_schema() -> dict[str, str]:
    """Flux types of the DP1 schema, found another way than the code's regular expression:
    strip known band prefixes and the Flux suffix, keep types with all their errors."""
    schema = pq.read_schema(DP1_COLLECTION / "object_lc" / "dataset" / "_common_metadata")
    names = set(schema.names)
    found: dict[str, set[str]] = {}
    for name in names:
        band, underscore, rest = name.partition("_")
        if underscore and len(band) == 1 and rest.endswith("Flux") and name + "Err" in names:
            found.setdefault(rest[: -len("Flux")], set()).add(band)
    return {flux_type: "".join(b for b in "ugrizy" if b in bands)
            for flux_type, bands in found.items()}


def test_flux_types_of_dp1_equal_the_schema(cli):
    result = cli["results"]["flux_types"]
    assert result.code == 0, result.stderr
    listed = {key: "".join(bands) for key, bands in json.loads(result.stdout).items()}
    assert listed == _flux_types_from_schema()
    assert sorted(listed) == sorted([
        "ap03", "ap06", "ap09", "ap12", "ap17", "ap25", "ap35", "ap50", "ap70", "calib",
        "cModel", "free_cModel", "free_psf", "gaap0p7", "gaap1p0", "gaap1p5", "gaap2p5",
        "gaap3p0", "gaapOptimal", "gaapPsf", "kron", "psf", "sersic"])
    assert set(listed.values()) == {"ugrizy"}


# -------------------------------------------------------------------- help


_HELP_DRIVER = """
import contextlib, io, json, sys
import typer
from tsmaker.cli.app import app, main

def walk(command, path):
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, [*path, name])

results = []
for path in walk(typer.main.get_command(app), []):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["tsmaker", *path, "--help"]
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as stop:
            code = stop.code
    results.append({"path": " ".join(path), "code": code, "stdout": out.getvalue(),
                    "stderr": err.getvalue()})
json.dump(results, sys.stdout)
"""


def test_every_command_and_subcommand_has_help(tmp_path):
    # One process walks the app's own command tree and runs main() for each --help.
    environment = dict(os.environ, TSMAKER_HOME=str(tmp_path), COLUMNS="200")
    finished = subprocess.run([sys.executable, "-c", _HELP_DRIVER], env=environment,
                              capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    assert finished.returncode == 0, finished.stderr
    results = {entry["path"]: entry for entry in json.loads(finished.stdout)}
    assert {"", "run", "catalogs list", "catalogs show", "catalogs remove",
            "catalogs flux-types", "catalogs add-object", "catalogs add-redshift",
            "products list", "products show", "products path", "products rm", "products plot",
            "dust status", "dust fetch", "serve"} <= set(results)
    for path, entry in results.items():
        assert entry["code"] == 0, (path, entry["stderr"])
        assert entry["stderr"] == "", path
        assert "Usage:" in entry["stdout"] and len(entry["stdout"]) > 200, path
    assert "TSMAKER_HOME" in results[""]["stdout"]
    for flag in ("--radius", "--flux-type", "--unique", "--workers", "--like"):
        assert flag in results["run"]["stdout"]


def test_help_and_version_as_real_processes(tmp_path):
    from tsmaker import __version__

    results = run_together({"help": ["--help"], "version": ["--version"],
                            "run_help": ["run", "--help"]}, tmp_path)
    assert results["version"].code == 0 and results["version"].stderr == ""
    assert results["version"].stdout == f"tsmaker {__version__}\n"
    for key in ("help", "run_help"):
        assert results[key].code == 0 and results[key].stderr == ""
        assert "Usage:" in results[key].stdout


_IMPORT_PROBE = """
import sys
sys.argv = ["tsmaker", *sys.argv[1:]]
from tsmaker.cli.app import main
try:
    main()
except SystemExit as stop:
    code = stop.code
heavy = sorted(m for m in ("lsdb", "pandas", "hats", "dask", "pyarrow", "fastapi", "starlette",
                           "uvicorn", "jinja2") if m in sys.modules)
sys.stderr.write(f"PROBE {code} {','.join(heavy) or '-'}\\n")
"""


@pytest.mark.parametrize("args", [["--help"], ["catalogs", "list"]])
def test_light_commands_do_not_import_heavy_libraries(args, tmp_path):
    environment = dict(os.environ, TSMAKER_HOME=str(tmp_path))
    finished = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, *args], env=environment,
                              capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    probe = finished.stderr.splitlines()[-1]
    assert probe == "PROBE 0 -", finished.stderr
    assert finished.stdout.strip()
