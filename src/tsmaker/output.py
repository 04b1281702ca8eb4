"""Compute the matched partitions and stream them into the product file.

Partitions are finished inside the Dask graph and arrive in HEALPix order, a bounded
number at a time. With ``--unique closest`` the de-duplication needs the whole
catalog, so the finished partitions first go to temporary Parquet parts next to the
output while their (key, object, distance, flag, error) columns are collected; the
winners are chosen once, then the parts are filtered into the final file in order.
"""

import shutil
from pathlib import Path
from typing import Any

from tsmaker.crossmatch import HEALPIX_COLUMN, MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN


def write_product(plan: Any, data_path: Path, report: Any) -> dict[str, Any]:
    """Run the match for ``plan``, write the product file at ``data_path``; return a summary."""
    from tsmaker.crossmatch import match_catalogs
    from tsmaker.execution import TaskGraph, open_executor, partition_tasks
    from tsmaker.partition import finish_partition
    from tsmaker.resolve import execution_settings

    parameters = plan.parameters
    report("step", text="Planning the crossmatch")
    redshift = plan.redshift
    matched = match_catalogs(
        redshift.frame,
        ra_column=redshift.roles["ra"],
        dec_column=redshift.roles["dec"],
        object_location=plan.object_info.location,
        object_columns=plan.object_columns,
        row_filters=plan.profile.row_filters,
        parameters=_match_parameters(parameters),
    )
    tasks = TaskGraph({}, [])
    if matched is not None:
        pixels = matched.get_healpix_pixels()
        partitions = matched.to_delayed()
        order = sorted(range(len(pixels)), key=lambda i: _pixel_start(pixels[i]))
        tasks = partition_tasks([partitions[i] for i in order], finish_partition, plan.recipe)
    settings = execution_settings(parameters.execution)
    statistics = _Statistics(plan.recipe.key_column, len(redshift.frame))
    report("partitions", total=len(tasks.keys))
    report("step", text=f"Matching {len(tasks.keys)} partitions")
    with open_executor(settings) as executor:
        if parameters.output_format == "hats" and parameters.unique == "none":
            _write_hats_lazily(plan, matched, data_path, statistics)
            summary = statistics.summary(len(tasks.keys))
            summary["executor"] = executor.description
            return summary
        results = executor.ordered_results(tasks)
        if parameters.unique == "closest":
            unique_counts = _write_unique(plan, results, data_path, statistics, report)
        else:
            unique_counts = None
            _write_stream(plan, results, data_path, statistics, report)
    summary = statistics.summary(len(tasks.keys))
    if unique_counts is not None:
        summary["unique"] = unique_counts
    summary["executor"] = executor.description
    return summary


def _match_parameters(parameters: Any) -> Any:
    from tsmaker.crossmatch import MatchParameters

    return MatchParameters(float(parameters.radius_arcsec), int(parameters.n_neighbors))


def _pixel_start(pixel: Any) -> int:
    """First order-29 nested index of a HEALPix pixel: sorts pixels in sky order."""
    return int(pixel.pixel) << (2 * (29 - int(pixel.order)))


def _writer_class(parameters: Any) -> Any:
    from tsmaker.writers import writer_for

    return writer_for(parameters.output_format)


class _Statistics:
    """Counts gathered while streaming: rows, matched spec-z, rank-1 distances."""

    def __init__(self, key_column: str, specz_rows: int) -> None:
        self.key_column = key_column
        self.specz_rows = specz_rows
        self.rows = 0
        self.matched_specz = 0
        self.distances: list[Any] = []

    def add(self, frame: Any) -> None:
        import numpy as np

        self.rows += len(frame)
        if len(frame):
            self.matched_specz += int(frame[self.key_column].nunique())
            first = frame[MATCH_RANK_COLUMN].to_numpy() == 1
            self.distances.append(
                frame[MATCH_DISTANCE_COLUMN].to_numpy(dtype=np.float32)[first]
            )

    def summary(self, partitions: int) -> dict[str, Any]:
        import numpy as np

        distances = np.concatenate(self.distances) if self.distances else np.empty(0)
        return {
            "rows": self.rows,
            "specz_rows": self.specz_rows,
            "matched_specz": self.matched_specz,
            "matched_fraction": round(self.matched_specz / self.specz_rows, 6)
            if self.specz_rows else 0.0,
            "median_match_distance_arcsec": float(np.median(distances))
            if len(distances) else None,
            "partitions": partitions,
        }


def _empty_frame(plan: Any) -> Any:
    """A zero-row frame with the product's columns and dtypes (for an empty product)."""
    import pandas as pd

    from tsmaker.partition import finish_partition

    redshift = plan.redshift.frame.iloc[:0]
    schema = plan.object_info.schema
    object_columns = {
        name: pd.Series([], dtype=schema.field(name).type.to_pandas_dtype())
        for name in plan.object_columns
    }
    frame = pd.concat([redshift.reset_index(drop=True), pd.DataFrame(object_columns)], axis=1)
    frame["_dist_arcsec"] = pd.Series([], dtype="float64")
    frame.index = pd.Index([], dtype="int64", name=HEALPIX_COLUMN)
    return finish_partition(frame, plan.recipe)


def _open_writer(plan: Any, data_path: Path) -> Any:
    return _writer_class(plan.parameters)(
        data_path,
        units=plan.units,
        metadata={"tsmaker": plan.parameters.to_dict(), "inputs": plan.inputs},
        string_widths=plan.string_widths,
    )


def _write_stream(
    plan: Any, results: Any, data_path: Path, statistics: _Statistics, report: Any
) -> None:
    if plan.parameters.output_format == "hats":
        _write_hats(plan, results, data_path, statistics, report)
        return
    with _open_writer(plan, data_path) as writer:
        for frame in results:
            statistics.add(frame)
            if len(frame):
                writer.write(frame)
            report("advance", rows=len(frame))
        if writer.rows_written == 0:
            writer.write(_empty_frame(plan))


def _write_unique(
    plan: Any, results: Any, data_path: Path, statistics: _Statistics, report: Any
) -> dict[str, int]:
    import pandas as pd

    from tsmaker.crossmatch import select_unique_closest

    roles = plan.redshift.roles
    key = plan.recipe.key_column
    object_id = plan.recipe.object_id_column
    ties = [c for c in (roles.get("z_flag"), roles.get("z_err")) if c]
    parts_dir = data_path.with_name(f".{data_path.name}.parts")  # reaped if killed
    shutil.rmtree(parts_dir, ignore_errors=True)
    parts_dir.mkdir(parents=True)
    try:
        pair_tables = []
        part_paths = []
        for index, frame in enumerate(results):
            part_path = parts_dir / f"part-{index:06d}.parquet"
            frame.to_parquet(part_path, index=False)
            part_paths.append(part_path)
            pairs = frame[[key, object_id, MATCH_DISTANCE_COLUMN, *ties]].copy()
            pairs["_part"] = index
            pair_tables.append(pairs)
            report("advance", rows=len(frame))
        report("step", text="Choosing unique galaxies")
        pairs = pd.concat(pair_tables, ignore_index=True) if pair_tables else None
        if pairs is None or pairs.empty:
            keep, counts = None, {"removed_duplicate_objects": 0, "removed_duplicate_specz": 0}
        else:
            keep, counts = select_unique_closest(
                pairs, key_column=key, object_column=object_id,
                flag_column=roles.get("z_flag"), z_err_column=roles.get("z_err"),
                higher_flag_is_better=plan.parameters.z_flag_better == "higher",
            )
        sizes = [int((pairs["_part"] == i).sum()) for i in range(len(part_paths))] if (
            pairs is not None) else []
        report("step", text="Writing unique rows")
        filtered = _filtered_parts(part_paths, keep, sizes)
        _write_stream(plan, filtered, data_path, statistics, _quiet_advance(report))
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    return counts


def _filtered_parts(part_paths: list[Path], keep: Any, sizes: list[int]) -> Any:
    import pandas as pd

    start = 0
    for part_path, size in zip(part_paths, sizes, strict=True):
        frame = pd.read_parquet(part_path)
        yield frame[keep[start : start + size]].reset_index(drop=True)
        start += size


def _quiet_advance(report: Any) -> Any:
    def forward(event: str, **info: Any) -> None:
        if event != "advance":
            report(event, **info)

    return forward


def _write_hats_lazily(plan: Any, matched: Any, data_path: Path, statistics: _Statistics) -> None:
    """Write the training set as a HATS catalog partition by partition, inside the graph.

    LSDB writes each finished partition as it is computed, so memory stays bounded by a
    few partitions whatever the size of the training set.
    """
    import os

    import lsdb

    from tsmaker.errors import InputError
    from tsmaker.partition import finish_partition

    if matched is None:
        raise InputError("no matches: an empty training set cannot be written as HATS; "
                         "use --format parquet for an empty product")
    finished = matched.map_partitions(finish_partition, plan.recipe, True)
    temporary = data_path.with_name(f".{data_path.name}.partial-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    finished.write_catalog(temporary, catalog_name=data_path.stem, as_collection=False,
                           progress_bar=False, overwrite=True)
    if data_path.exists():
        shutil.rmtree(data_path)
    os.replace(temporary, data_path)
    written = lsdb.open_catalog(
        data_path, columns=[plan.recipe.key_column, MATCH_RANK_COLUMN, MATCH_DISTANCE_COLUMN]
    )
    for partition in written.to_delayed():
        statistics.add(partition.compute())


def _write_hats(
    plan: Any, results: Any, data_path: Path, statistics: _Statistics, report: Any
) -> None:
    """Write an in-memory training set (``--unique closest``) as a HATS catalog."""
    import os

    import lsdb
    import pandas as pd

    frames = []
    for frame in results:
        statistics.add(frame)
        frames.append(frame)
        report("advance", rows=len(frame))
    table = pd.concat(frames, ignore_index=True) if frames else _empty_frame(plan)
    if table.empty:
        from tsmaker.errors import InputError

        raise InputError("no matches: an empty training set cannot be written as HATS; "
                         "use --format parquet for an empty product")
    roles = plan.redshift.roles
    temporary = data_path.with_name(f".{data_path.name}.partial-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    catalog = lsdb.from_dataframe(
        table, ra_column=roles["ra"], dec_column=roles["dec"], margin_threshold=None,
        catalog_name=data_path.stem,
    )
    catalog.write_catalog(temporary, as_collection=False, progress_bar=False)
    if data_path.exists():
        shutil.rmtree(data_path)
    os.replace(temporary, data_path)
