"""The package's layering, as written in pyproject.toml's import-linter contracts."""

import subprocess
import sys
from pathlib import Path

from conftest import PROJECT_ROOT


def test_import_contracts_are_kept():
    """Front ends over the library, the library's rooms over the core, no cycle, no typer."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_package_top_re_exports_what_users_touch():
    import tsmaker

    for name in tsmaker.__all__:
        assert getattr(tsmaker, name) is not None, name
    from tsmaker.manage.products import read_product
    from tsmaker.run.pipeline import make_training_set

    assert tsmaker.make_training_set is make_training_set
    assert tsmaker.read_product is read_product
