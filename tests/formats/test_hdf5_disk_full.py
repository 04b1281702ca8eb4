"""A full disk while an HDF5 product is written: a clean OSError, no crash, no file left.

HDF5 crashes the process (SIGSEGV) when a write fails while it closes a chunked
dataset (see tsmaker.formats.hdf5_file). A file-size limit (RLIMIT_FSIZE, with SIGXFSZ
ignored) makes writes past it fail with EFBIG, the same failure path as ENOSPC,
without root or a small file system; the limit is per process, so the writer runs in
a child process.
"""

import errno
import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from tsmaker.formats import Hdf5Writer

    folder, layout, limit_bytes = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    rows = int(sys.argv[4])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    rng = np.random.default_rng(5)
    writer = Hdf5Writer(folder / "product.hdf5", layout=layout, metadata={"run": 1})
    outcome = {"raised": None, "errno": None, "where": None, "rows": 0}
    try:
        with writer:
            for index in range(40):
                outcome["where"] = "write"
                writer.write(pd.DataFrame({
                    "z": rng.random(rows),             # incompressible: the file grows
                    "flux": rng.random(rows).astype("float32"),
                    "id": np.arange(rows) + rows * index,
                    "flag": pd.array(rng.integers(0, 5, rows), dtype="Int64"),
                    "name": pd.array([f"g{i}" for i in range(rows)], dtype="str"),
                }))
                outcome["rows"] += rows
            outcome["where"] = "close"
    except Exception as error:
        outcome["raised"] = type(error).__name__
        outcome["errno"] = getattr(error, "errno", None)
        outcome["filename"] = getattr(error, "filename", None)
    print(json.dumps(outcome))
""")


@pytest.mark.parametrize("layout", ["columns", "table"])
@pytest.mark.parametrize(("limit_bytes", "batch_rows", "raised_by"), [
    (16 << 10, 2_000, "close"),    # the rows fit HDF5's caches: the close meets the limit
    (256 << 10, 2_000, "close"),
    (1 << 20, 50_000, "write"),    # a flush after ~8 MiB of rows meets it
])
def test_hdf5_writer_on_a_full_disk_raises_oserror_and_leaves_nothing(
    tmp_path, layout, limit_bytes, batch_rows, raised_by
):
    folder = tmp_path / "out"
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), layout, str(limit_bytes), str(batch_rows)],
        capture_output=True, text=True, timeout=120,
    )
    # Not -11 (SIGSEGV) or 139: the process ends normally, having caught the error.
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["raised"] == "OSError", outcome
    assert outcome["errno"] in (errno.EFBIG, errno.ENOSPC), outcome
    assert outcome["filename"].startswith(str(folder)), outcome
    assert outcome["where"] == raised_by, outcome
    assert list(folder.iterdir()) == []
    assert "Exception ignored" not in done.stderr, done.stderr[-2000:]
