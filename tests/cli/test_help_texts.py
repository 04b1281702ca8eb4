"""Help texts say what the README says (rich markup must not eat bracketed text)."""

import re

from typer.testing import CliRunner

from tsmaker.cli.app import app


def _help(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    return re.sub(r"\s+", " ", result.output.replace("│", " "))


def test_run_help_shows_defaults_and_the_hpc_extra():
    text = _help("run")
    assert "pip install 'tsmaker[hpc]'" in text  # as in the README's SLURM recipe
    for shown in ("Match radius in arcsec. [default: 1.0]",
                  "parquet, csv, fits, hdf5 or hats. [default: parquet]",
                  "[default: columns]", "--hdf5-layout", "--accept-changed-inputs",
                  "Group of the columns layout (RAIL's hdf5_groupname). [default: photometry]",
                  "Column names: rubin (g_cModelMag)", "[default: rubin]", "[default: keep-ties]",
                  "none: no id column (spec-z keyed by specz_row)",
                  "with --dust only the dereddened ones, ..Mag_dered",
                  "ebv and ..Flux_dered/FluxErr_dered are added"):
        assert shown in text, shown


def test_dust_fetch_help_shows_its_default():
    assert "[default: $TSMAKER_HOME/dustmaps]" in _help("dust", "fetch")
