"""Benchmark tsmaker against the plain astropy script and the plain LSDB recipe.

One invocation runs everything side by side and writes ``bench/RESULTS.md`` (and the
raw figures to ``bench/out/results.json``):

* ``tsmaker --help`` time, and the fixed overhead (a run on a 10-row spec-z catalog);
* for every scale x spec-z size x k: ``tsmaker run`` (the real CLI), ``astropy_match.py``
  and ``lsdb_match.py``, each as its own subprocess with the same parameters (r = 1",
  cModel magnitudes, Parquet out), interleaved, repeated ``--repeats`` times (median);
  wall time and peak RSS of the whole process tree (psutil polling, RSS summed over
  the process and all its descendants, so Dask worker processes count);
* a check that the three outputs hold the same (specz_id, objectId, match_rank) set and
  the same magnitudes to 1e-5;
* ``tsmaker --workers 1`` vs ``--workers 2`` at the largest scale.

Usage::

    /work/venv/bin/python bench/run_bench.py --scales 1 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
OUT_DIR = BENCH_DIR / "out"
PYTHON = sys.executable
TSMAKER = str(Path(PYTHON).with_name("tsmaker"))
RADIUS = 1.0
FLUX_TYPE = "cModel"
MAG_TOLERANCE = 1e-5
POLL_SECONDS = 0.05


# ------------------------------------------------------------------ measuring


def measure(command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run a command; wall time and peak RSS summed over its whole process tree."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    # CPU = user + sys of every process of the tree, as last seen by the poll (a
    # process's parent does not always reap it: workers forked by a forkserver are
    # the forkserver's, which outlives the command by a moment). Less sensitive than
    # wall time to other load on the machine.
    cpu_by_process: dict[tuple[int, float], float] = {}
    with log.open("w") as handle:
        process = psutil.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
        peak = 0
        while process.poll() is None:
            total = 0
            try:
                tree = [process, *process.children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            for member in tree:
                try:
                    with member.oneshot():
                        total += member.memory_info().rss
                        times = member.cpu_times()
                        cpu_by_process[member.pid, member.create_time()] = (
                            times.user + times.system)
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            peak = max(peak, total)
            time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed ({process.returncode}); see {log}:\n"
                           + log.read_text()[-3000:])
    return {"wall_s": wall, "peak_rss_mb": peak / 2**20, "cpu_s": sum(cpu_by_process.values()),
            "load1_before": load_before}


def median_of(runs: list[dict]) -> dict:
    return {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "repeats": len(runs),
        "runs": runs,
    }


def tsmaker_command(specz: Path, objects: Path, out: Path, k: int,
                    workers: int | None = None) -> list[str]:
    command = [TSMAKER, "run", "--name", "bench", "--redshift", str(specz), "--object",
               str(objects), "--radius", str(RADIUS), "--neighbors", str(k),
               "--flux-type", FLUX_TYPE, "--format", "parquet", "--output-dir", str(out),
               "--json"]
    if workers is not None:
        command += ["--workers", str(workers)]
    return command


def baseline_command(script: str, specz: Path, objects: Path, out: Path, k: int) -> list[str]:
    return [PYTHON, str(BENCH_DIR / script), str(specz), str(objects),
            str(out / "result.parquet"), "--radius", str(RADIUS), "--k", str(k),
            "--flux-type", FLUX_TYPE]


def output_file(out: Path) -> Path:
    files = sorted(p for p in out.glob("*.parquet"))
    if len(files) != 1:
        raise RuntimeError(f"expected one Parquet file in {out}, found {files}")
    return files[0]


# ------------------------------------------------------------------ comparing


def outside_footprint(objects: Path, ra_deg, dec_deg):
    """True where a position lies in no partition of the object catalog."""
    import csv

    import numpy as np

    from tsmaker.matching.healpix import healpix29

    with (objects / "object_lc" / "partition_info.csv").open() as handle:
        pixels = [(int(r["Norder"]), int(r["Npix"])) for r in csv.DictReader(handle)]
    starts = np.sort([p << (2 * (29 - o)) for o, p in pixels])
    ends = np.sort([(p + 1) << (2 * (29 - o)) for o, p in pixels])
    healpix = healpix29(ra_deg, dec_deg)
    index = np.searchsorted(starts, healpix, side="right") - 1
    return (index < 0) | (healpix >= ends[np.maximum(index, 0)])


def compare_outputs(paths: dict[str, Path], objects: Path) -> dict:
    """Same (specz_id, objectId, match_rank) set and magnitudes to MAG_TOLERANCE.

    The plain LSDB recipe pairs only overlapping partitions, so it loses the spec-z that
    lie beyond the edge of the object footprint (in no partition) yet within the radius
    of an object inside it; those rows are counted apart (``lost_beyond_footprint``)
    and are not a mismatch when they are exactly the rows LSDB lacks.
    """
    import numpy as np
    import pandas as pd

    keys = ["specz_id", "objectId", "match_rank"]
    mags = [f"{b}_{FLUX_TYPE}{s}" for b in "ugrizy" for s in ("Mag", "MagErr")]
    frames = {name: pd.read_parquet(path, columns=keys + mags + ["match_distance_arcsec"])
              for name, path in paths.items()}
    positions = pd.read_parquet(paths["tsmaker"], columns=["specz_id", "ra", "dec"])
    edge_ids = set(positions["specz_id"][outside_footprint(
        objects, positions["ra"].to_numpy(), positions["dec"].to_numpy())].tolist())
    reference_name = "tsmaker"
    reference = frames[reference_name]
    report = {"rows": {name: len(frame) for name, frame in frames.items()}, "mismatches": []}
    for name, frame in frames.items():
        if name == reference_name:
            continue
        merged = reference.merge(frame, on=keys, how="outer", suffixes=("", "_other"),
                                 indicator=True)
        only_ts = int((merged["_merge"] == "left_only").sum())
        only_other = int((merged["_merge"] == "right_only").sum())
        both = merged[merged["_merge"] == "both"]
        worst = 0.0
        bad_rows = 0
        for column in mags:
            a = both[column].to_numpy(dtype=np.float64)
            b = both[f"{column}_other"].to_numpy(dtype=np.float64)
            nan_mismatch = np.isnan(a) != np.isnan(b)
            diff = np.where(np.isnan(a) | np.isnan(b), 0.0, np.abs(a - b))
            worst = max(worst, float(diff.max()) if len(diff) else 0.0)
            bad_rows += int((nan_mismatch | (diff > MAG_TOLERANCE)).sum())
        entry = {"other": name, "only_in_tsmaker": only_ts, f"only_in_{name}": only_other,
                 "max_abs_mag_diff": worst, "mag_values_out_of_tolerance": bad_rows}
        if name == "lsdb":
            only = merged.loc[merged["_merge"] == "left_only", "specz_id"]
            lost = int(only.isin(edge_ids).sum())
            entry["lost_beyond_footprint"] = lost
            entry["only_in_tsmaker"] = only_ts = only_ts - lost
        if only_ts or only_other:
            sample = merged[merged["_merge"] != "both"].head(5)
            entry["examples"] = sample[keys + ["match_distance_arcsec",
                                               "match_distance_arcsec_other",
                                               "_merge"]].astype(str).to_dict("records")
        if only_ts or only_other or bad_rows:
            report["mismatches"].append(entry)
            print(f"!!! MISMATCH tsmaker vs {name}: {entry}", flush=True)
        report[f"vs_{name}"] = entry
    return report


# ------------------------------------------------------------------ scenarios


def wait_for_data(scale: str) -> None:
    """Wait until make_data.py has finished this scale (collection written, staging gone)."""
    objects = DATA_DIR / f"object_{scale}x"
    while not (objects / "collection.properties").exists() or (
            DATA_DIR / f".staging_{scale}x").exists():
        print(f"waiting for {objects} ...", flush=True)
        time.sleep(20)


def run_triplet(scale: str, n_specz: int, k: int, repeats: int, env: dict) -> dict:
    objects = DATA_DIR / f"object_{scale}x"
    specz = DATA_DIR / f"specz_{scale}x_{n_specz}.parquet"
    label = f"{scale}x_{n_specz}_k{k}"
    tools = {
        "tsmaker": lambda out: tsmaker_command(specz, objects, out, k),
        "astropy": lambda out: baseline_command("astropy_match.py", specz, objects, out, k),
        "lsdb": lambda out: baseline_command("lsdb_match.py", specz, objects, out, k),
    }
    runs: dict[str, list[dict]] = {name: [] for name in tools}
    last_out: dict[str, Path] = {}
    for repeat in range(repeats):
        for name, make in tools.items():
            out = OUT_DIR / label / f"{name}_{repeat}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            warm_page_cache(scale)
            result = measure(make(out), env, out / "log.txt")
            runs[name].append(result)
            last_out[name] = out
            print(f"{label} {name} #{repeat}: {result['wall_s']:.2f} s, "
                  f"{result['peak_rss_mb']:.0f} MB", flush=True)
    record = {"scale": scale, "n_specz": n_specz, "k": k,
              **{name: median_of(r) for name, r in runs.items()}}
    record["check"] = compare_outputs({name: output_file(out) for name, out in
                                       last_out.items()}, objects)
    # Keep only the last outputs on disk.
    for name in runs:
        for repeat in range(repeats - 1):
            shutil.rmtree(OUT_DIR / label / f"{name}_{repeat}", ignore_errors=True)
    return record


LOAD_ONLY = """
import sys
from pathlib import Path
from tsmaker.inputs.cleaning import load_redshift_catalog
frame = load_redshift_catalog(Path(sys.argv[1]), {}).frame
print(int(frame.memory_usage(deep=True, index=True).sum()))
"""


def run_output_scaling(scale: str, n_specz: int, k: int, env: dict) -> dict:
    """tsmaker alone on a large spec-z catalog: rows written vs peak RSS.

    Also measures a process that only reads and cleans the spec-z catalog (what any
    run must hold in memory), so the part of the peak that the output could add shows.
    """
    import pyarrow.parquet as pq

    objects = DATA_DIR / f"object_{scale}x"
    specz = DATA_DIR / f"specz_{scale}x_{n_specz}.parquet"
    label = f"output_{scale}x_{n_specz}_k{k}"
    out = OUT_DIR / label
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    warm_page_cache(scale)
    run = measure(tsmaker_command(specz, objects, out, k), env, out / "log.txt")
    rows = pq.ParquetFile(output_file(out)).metadata.num_rows
    load = measure([PYTHON, "-c", LOAD_ONLY, str(specz)], env, out / "load.txt")
    frame_bytes = int((out / "load.txt").read_text().split()[-1])
    for path in out.glob("*.parquet"):
        path.unlink()
    print(f"{label}: {rows:,} rows, {run['wall_s']:.1f} s, {run['peak_rss_mb']:.0f} MB; "
          f"loading the spec-z alone {load['peak_rss_mb']:.0f} MB", flush=True)
    return {"scale": scale, "n_specz": n_specz, "k": k, "rows": rows, "tsmaker": run,
            "load_only": load, "specz_frame_mb": frame_bytes / 2**20}


def run_help(repeats: int, env: dict) -> dict:
    runs = []
    for repeat in range(repeats + 1):
        log = OUT_DIR / "help.txt"
        result = measure([TSMAKER, "--help"], env, log)
        if repeat:  # the first run only warms the file cache
            runs.append(result)
    return median_of(runs)


def run_fixed_overhead(scale: str, repeats: int, env: dict) -> dict:
    specz = DATA_DIR / f"specz_{scale}x_10.parquet"
    objects = DATA_DIR / f"object_{scale}x"
    runs = []
    for repeat in range(repeats + 1):
        out = OUT_DIR / "overhead" / f"run_{repeat}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        result = measure(tsmaker_command(specz, objects, out, 1), env, out / "log.txt")
        print(f"overhead #{repeat}: {result['wall_s']:.2f} s", flush=True)
        if repeat:  # the first run is the cold one (numba cache, imports)
            runs.append(result)
    return median_of(runs)


def run_workers(scale: str, n_specz: int, repeats: int, env: dict) -> dict:
    specz = DATA_DIR / f"specz_{scale}x_{n_specz}.parquet"
    objects = DATA_DIR / f"object_{scale}x"
    record: dict = {"scale": scale, "n_specz": n_specz}
    runs: dict[str, list[dict]] = {
        "1": [], "2": [], "one_process": [], "two_processes": [], "cpu_one": [], "cpu_two": [],
    }
    for repeat in range(repeats):
        for variant in runs:
            out = OUT_DIR / f"workers_{scale}x" / f"{variant}_{repeat}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            if not variant.startswith("cpu_"):  # those read no file
                warm_page_cache(scale)
            result = measure(_workers_command(variant, specz, objects, out), env,
                             out / "log.txt")
            runs[variant].append(result)
            print(f"workers {variant} #{repeat}: {result['wall_s']:.2f} s, "
                  f"{result['peak_rss_mb']:.0f} MB", flush=True)
    record.update({f"workers_{w}": median_of(r) for w, r in runs.items()})
    return record


#: A fixed amount of numerical work (no I/O, no threads): what the machine itself gives.
CPU_WORKLOAD = (
    "import numpy as np\n"
    "values = np.random.default_rng(0).random(2_000_000)\n"
    "for _ in range(400):\n"
    "    np.sort(values)\n"
)


def _workers_command(variant: str, specz: Path, objects: Path, out: Path) -> list[str]:
    """``--workers 1`` or ``2``, or a reference for two processes on this machine.

    ``one_process`` is the run in-process on one thread; ``two_processes`` two such
    runs at once, independent: their time against one run's says how much faster two
    tsmaker processes are than one, before any Dask or planning cost. ``cpu_one`` and
    ``cpu_two`` do the same with :data:`CPU_WORKLOAD`, which only computes: what the
    machine itself gives from a second process.
    """
    if variant in ("1", "2"):
        return tsmaker_command(specz, objects, out, 1, int(variant))
    if variant in ("cpu_one", "cpu_two"):
        one = [sys.executable, "-c", CPU_WORKLOAD]
        if variant == "cpu_one":
            return one
        return _both_at_once(one, one)
    for name in ("a", "b"):
        (out / name).mkdir(exist_ok=True)
    single = tsmaker_command(specz, objects, out / "a", 1) + ["--threads-per-worker", "1"]
    if variant == "one_process":
        return single
    other = tsmaker_command(specz, objects, out / "b", 1) + ["--threads-per-worker", "1"]
    return _both_at_once(single, other)


def _both_at_once(first: list[str], second: list[str]) -> list[str]:
    """A shell command running two commands at once, failing if either fails.

    (A bare ``wait`` returns 0 whatever its children did.)
    """
    return ["sh", "-c",
            f"{shlex.join(first)} & first=$!; {shlex.join(second)} || exit $?; wait $first"]


def warm_page_cache(scale: str) -> None:
    """Bring every file of the object catalog into the page cache before a timed run.

    The object catalog must be read from memory, not disk, in every run compared: on
    this VM cached pages of the 11 GB 10x catalog were dropped while memory was free
    (7.8 of 11.4 GB still cached after a 30-minute --workers table), so runs late in
    a table read from disk and their times spread by +-25%. Each page is touched
    through a read-only map (no copy): 2.5 s for the 10x catalog when it is cached.
    """
    import mmap

    import numpy as np

    for path in (DATA_DIR / f"object_{scale}x").rglob("*.parquet"):
        if path.stat().st_size == 0:
            continue
        with path.open("rb") as handle, \
                mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            view.madvise(mmap.MADV_WILLNEED)
            pages = np.frombuffer(view, dtype=np.uint8)[::mmap.PAGESIZE]
            pages.sum()
            del pages  # the map cannot close while an array views it


# ------------------------------------------------------------------ machine + report


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("tsmaker", "lsdb", "hats", "hats-import", "nested-pandas", "dask",
                    "pandas", "pyarrow", "numpy", "astropy", "psutil"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "logical_cores": psutil.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "load_average_at_start": os.getloadavg(),
    }


def render(results: dict) -> str:
    from render_results import render_markdown

    return render_markdown(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["1"],
                        help="scales with data under bench/data (e.g. 1 5)")
    parser.add_argument("--specz-sizes", type=int, nargs="+",
                        default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--large-specz-sizes", type=int, nargs="+", default=None,
                        help="spec-z sizes at scales other than the first (default: same)")
    parser.add_argument("--configs", nargs="+", default=None,
                        help="explicit SCALE:NSPECZ:K triplets (overrides --scales sizes/ks "
                             "for the comparison table), e.g. 1:100000:1 3:100000:1")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output-configs", nargs="+", default=[],
                        help="SCALE:NSPECZ:K runs of tsmaker alone, for rows written vs "
                             "memory (e.g. 10:6000000:5 writes ~10^7 rows)")
    parser.add_argument("--workers-specz", type=int, default=100_000)
    parser.add_argument("--workers-repeats", type=int, default=None)
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--add-to-previous", action="store_true",
                        help="append these configs (and replace the --workers table) to "
                             "bench/out/results.json instead of starting afresh; --help and "
                             "the fixed overhead are not re-measured")
    parser.add_argument("--workers-only", action="store_true",
                        help="with --add-to-previous: re-measure only the --workers table "
                             "(no comparison or output rows)")
    args = parser.parse_args()
    if args.workers_only and not args.add_to_previous:
        parser.error("--workers-only needs --add-to-previous (it replaces one table of "
                     "bench/out/results.json)")

    results_path = OUT_DIR / "results.json"
    if args.render_only:
        results = json.loads(results_path.read_text())
        (BENCH_DIR / "RESULTS.md").write_text(render(results))
        return

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="tsmaker-bench-home-"))
    env = dict(os.environ, TSMAKER_HOME=str(home), PYTHONUNBUFFERED="1")
    env.pop("TSMAKER_SCHEDULER", None)
    started = time.time()
    if args.add_to_previous:
        results = json.loads(results_path.read_text())
        results.setdefault("additions", []).append(
            {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "configs": args.configs,
             "load_average": os.getloadavg()})
        started -= results.get("elapsed_s", 0)
    else:
        results = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                   "repeats": args.repeats, "radius_arcsec": RADIUS,
                   "flux_type": FLUX_TYPE, "triplets": []}
    make_log = DATA_DIR / "make_data_log.json"
    if make_log.exists():
        results["data_generation"] = json.loads(make_log.read_text())

    def save() -> None:
        results["elapsed_s"] = round(time.time() - started, 1)
        results_path.write_text(json.dumps(results, indent=2, default=str))
        (BENCH_DIR / "RESULTS.md").write_text(render(results))

    try:
        if not args.add_to_previous:
            results["help"] = run_help(args.repeats, env)
            print(f"--help: {results['help']['wall_s']:.3f} s", flush=True)
            warm_page_cache(args.scales[0])
            results["fixed_overhead"] = run_fixed_overhead(args.scales[0], args.repeats, env)
            save()
        if args.workers_only:
            configs = []
        elif args.configs:
            configs = []
            for text in args.configs:
                scale, n, k, *rest = text.split(":")
                configs.append((scale, int(n), int(k), int(rest[0]) if rest else args.repeats))
        else:
            configs = []
            for index, scale in enumerate(args.scales):
                sizes = args.specz_sizes if index == 0 or args.large_specz_sizes is None \
                    else args.large_specz_sizes
                configs += [(scale, n, k, args.repeats) for n in sizes for k in args.ks]
        for scale, n_specz, k, repeats in configs:
            wait_for_data(scale)
            results["triplets"].append(run_triplet(scale, n_specz, k, repeats, env))
            save()
        for text in [] if args.workers_only else args.output_configs:
            scale, n, k = text.split(":")
            results.setdefault("output_scaling", []).append(
                run_output_scaling(scale, int(n), int(k), env))
            save()
        largest = args.scales[-1]
        wait_for_data(largest)
        results["workers"] = run_workers(largest, args.workers_specz,
                                         args.workers_repeats or args.repeats, env)
        save()
    finally:
        save()
        shutil.rmtree(home, ignore_errors=True)
    print(f"done in {time.time() - started:.0f} s; see {BENCH_DIR / 'RESULTS.md'}")


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    main()
