"""Two revisions of tsmaker side by side: interleaved runs of the same `tsmaker run`.

Each revision's ``src`` is extracted with ``git archive`` into a temporary folder and
put first on PYTHONPATH, so both run with this interpreter's libraries. After one
warm-up pair (page cache, bytecode), pairs alternate which revision runs first; each
run gets a fresh TSMAKER_HOME and output folder. Prints one JSON line per pair (wall
and CPU seconds of A and B, and their ratios) and a summary line with the medians.

    python bench/ab_pairs.py HEAD main --pairs 9 \\
        --redshift bench/data/specz_1x_100000.parquet --object bench/data/object_1x
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def extract(revision: str, folder: Path) -> Path:
    """The ``src`` folder of ``revision``, extracted under ``folder``."""
    archive = subprocess.run(["git", "archive", revision, "src"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def run_once(source: Path, arguments: list[str], scratch: Path) -> tuple[float, float]:
    """Wall and CPU (user + system, the process and its children) seconds of one run."""
    home, output = scratch / "home", scratch / "out"
    for folder in (home, output):
        shutil.rmtree(folder, ignore_errors=True)
    environment = dict(os.environ, TSMAKER_HOME=str(home), PYTHONPATH=str(source))
    command = [sys.executable, "-m", "tsmaker", "run", "--name", "ab", *arguments,
               "--output-dir", str(output), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=environment, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="revision A (e.g. HEAD)")
    parser.add_argument("b", help="revision B (e.g. main)")
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--redshift", default="bench/data/specz_1x_100000.parquet")
    parser.add_argument("--object", default="bench/data/object_1x")
    parser.add_argument("--neighbors", default="1")
    parser.add_argument("--radius", default="1")
    options = parser.parse_args()
    arguments = ["--redshift", str(Path(options.redshift).resolve()), "--object",
                 str(Path(options.object).resolve()), "--radius", options.radius,
                 "--neighbors", options.neighbors, "--flux-type", "cModel"]
    with tempfile.TemporaryDirectory(prefix="tsmaker-ab-") as scratch_name:
        scratch = Path(scratch_name)
        sources = {}
        for label, revision in (("A", options.a), ("B", options.b)):
            (scratch / label).mkdir()
            sources[label] = extract(revision, scratch / label)
        for label in ("A", "B"):  # warm-up
            run_once(sources[label], arguments, scratch / f"run_{label}")
        pairs = []
        for index in range(options.pairs):
            order = ("A", "B") if index % 2 == 0 else ("B", "A")
            result = {label: run_once(sources[label], arguments, scratch / f"run_{label}")
                      for label in order}
            pairs.append(result)
            print(json.dumps({"pair": index, "A": result["A"], "B": result["B"],
                              "wall_ratio": result["A"][0] / result["B"][0],
                              "cpu_ratio": result["A"][1] / result["B"][1]}), flush=True)
    wall = [pair["A"][0] / pair["B"][0] for pair in pairs]
    cpu = [pair["A"][1] / pair["B"][1] for pair in pairs]
    print(json.dumps({
        "pairs": len(pairs), "a": options.a, "b": options.b,
        "wall_ratio_median": statistics.median(wall), "wall_ratio_min": min(wall),
        "wall_ratio_max": max(wall), "cpu_ratio_median": statistics.median(cpu),
        "wall_a_median": statistics.median(pair["A"][0] for pair in pairs),
        "wall_b_median": statistics.median(pair["B"][0] for pair in pairs),
    }))


if __name__ == "__main__":
    main()
