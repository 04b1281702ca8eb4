"""run/files.py: a disk's refusal said in one line naming the output folder and the fix."""

import errno
from pathlib import Path

import pytest

from tsmaker.errors import ParameterError
from tsmaker.run.files import DISK_ERRORS, disk_error, existing_file_error


@pytest.mark.parametrize("code", sorted(DISK_ERRORS))
def test_every_disk_error_names_the_folder_and_what_to_do(code, tmp_path):
    reason, advice = DISK_ERRORS[code]
    inside = tmp_path / ".t_1.parquet.partial-7"
    for error in (OSError(code, "os text"), OSError(code, "os text", str(inside))):
        translated = disk_error(error, tmp_path)
        assert isinstance(translated, ParameterError)
        assert translated.parameter == "output_dir"
        assert translated.message("cli") == (
            f"cannot write the product into output folder '{tmp_path}': {reason} "
            f"(errno {code}); {advice}, or choose another folder with --output-dir")
        assert str(translated).endswith("choose another folder with output_dir")
        assert "\n" not in str(translated)


def test_other_errors_are_left_as_they_are(tmp_path):
    elsewhere = OSError(errno.EIO, "Input/output error", "/data/objects/Npix=4.parquet")
    assert disk_error(elsewhere, tmp_path) is None, "a read of an input file, not the output"
    assert disk_error(OSError(errno.ENOENT, "missing"), tmp_path) is None
    assert disk_error(ValueError("not an OSError"), tmp_path) is None


def test_a_file_that_appeared_under_a_final_name(tmp_path):
    final = tmp_path / "t_1.parquet"
    error = FileExistsError(errno.EEXIST, "File exists", str(tmp_path / ".t_1.partial-1"),
                            None, str(final))
    message = existing_file_error(error, Path(tmp_path)).message("cli")
    assert message.startswith(f"'{final}' appeared in output folder '{tmp_path}'")
    assert message.endswith("run again, or choose another folder with --output-dir")
