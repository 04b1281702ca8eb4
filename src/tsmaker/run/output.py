"""Compute the matched partitions and stream them into the product file.

Partitions are matched and finished on threads or Dask workers and arrive in HEALPix
order, a bounded number at a time. With ``--unique closest`` the de-duplication needs the whole
catalog, so the finished partitions first go to temporary Parquet parts next to the
output while their (key, object, distance, flag, error) columns are collected; the
winners are chosen once, then the parts are filtered into the final file in order.
"""

import shutil
from collections import deque
from pathlib import Path
from typing import Any

from tsmaker.matching.crossmatch import HEALPIX_COLUMN, MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN


def write_product(plan: Any, data_path: Path, report: Any) -> dict[str, Any]:
    """Run the match for ``plan``, write the product file at ``data_path``; return a summary."""
    from tsmaker.matching.crossmatch import PixelMatcher, PixelMatchGroup
    from tsmaker.run.execution import PartitionTask, open_executor
    from tsmaker.run.partition import match_and_finish
    from tsmaker.matching.planning import plan_pixel_matches
    from tsmaker.inputs.redshift import release_arrow_memory
    from tsmaker.inputs.resolve import execution_settings

    parameters = plan.parameters
    report("step", text="Planning the crossmatch")
    redshift = plan.redshift
    match_parameters = _match_parameters(parameters)
    pixel_matches = plan_pixel_matches(
        redshift.frame,
        ra_column=redshift.roles["ra"],
        dec_column=redshift.roles["dec"],
        object_files=plan.object_info.files,
        radius_arcsec=match_parameters.radius_arcsec,
    )
    specz_rows = len(redshift.frame)
    # The spec-z now live in the partitions' tasks, in sky order; the plan keeps only
    # the columns and dtypes (for an empty product), not a second copy of every row.
    redshift.frame = redshift.frame.iloc[:0]
    release_arrow_memory()
    matcher = PixelMatcher(
        object_columns=tuple(plan.object_columns),
        row_filters=tuple(plan.profile.row_filters),
        object_ra_column=plan.object_info.ra_column,
        object_dec_column=plan.object_info.dec_column,
        object_id_column=plan.recipe.object_id_column,
        redshift_ra_column=redshift.roles["ra"],
        redshift_dec_column=redshift.roles["dec"],
        parameters=match_parameters,
    )
    keep_index = parameters.output_format == "hats"
    pixels = [(pixel_match.order, pixel_match.pixel) for pixel_match in pixel_matches]
    settings = execution_settings(parameters.execution)
    statistics = _Statistics(plan.recipe.key_column, specz_rows)
    report("partitions", total=len(pixels))
    report("step", text=f"Matching {len(pixels)} partitions")
    with open_executor(settings) as executor:
        # At least 4 tasks per thread when there are enough partitions, for balance.
        per_task = min(TASK_PARTITIONS, max(1, len(pixel_matches) // (4 * executor.threads)))
        groups = deque(group_pixel_matches(pixel_matches, partitions=per_task))
        del pixel_matches
        # Tasks are made as the executor asks for them and each group is let go once
        # its task is done, so neither its spec-z rows nor what pandas caches on them
        # while they are matched stay in memory for the rest of the run.
        tasks = (
            PartitionTask(
                match_and_finish,
                (PixelMatchGroup(tuple(groups.popleft())), matcher, plan.recipe, keep_index),
            )
            for _ in range(len(groups))
        )
        # (frame, partitions in it) pairs, in sky order.
        results = (item for items in executor.ordered_results(tasks) for item in items)
        if parameters.unique == "closest":
            unique_counts = _write_unique(plan, results, pixels, data_path, statistics, report)
        else:
            unique_counts = None
            _write_stream(plan, results, pixels, data_path, statistics, report)
    summary = statistics.summary(len(pixels))
    if unique_counts is not None:
        summary["unique"] = unique_counts
    summary["executor"] = executor.description
    return summary


#: A task gathers neighbouring partitions until it holds this many spec-z or partitions.
TASK_SPECZ_ROWS = 20_000
TASK_PARTITIONS = 32


def group_pixel_matches(
    pixel_matches: list[Any],
    specz_rows: int = TASK_SPECZ_ROWS,
    partitions: int = TASK_PARTITIONS,
) -> list[list[Any]]:
    """Consecutive partitions gathered into tasks of bounded size, order kept.

    A task stops growing once it holds ``specz_rows`` spec-z or ``partitions``
    partitions, so a task's result is bounded (at most ``specz_rows`` x k rows
    plus one partition) whatever the catalog size.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> sizes = [5, 5, 30, 1, 1, 1]
    >>> groups = group_pixel_matches(
    ...     [SimpleNamespace(redshift_rows=range(n)) for n in sizes], 10, 2)
    >>> [[len(m.redshift_rows) for m in group] for group in groups]
    [[5, 5], [30], [1, 1], [1]]
    """
    groups: list[list[Any]] = []
    current: list[Any] = []
    rows = 0
    for pixel_match in pixel_matches:
        current.append(pixel_match)
        rows += len(pixel_match.redshift_rows)
        if rows >= specz_rows or len(current) >= partitions:
            groups.append(current)
            current, rows = [], 0
    if current:
        groups.append(current)
    return groups


def _match_parameters(parameters: Any) -> Any:
    from tsmaker.matching.crossmatch import MatchParameters

    return MatchParameters(float(parameters.radius_arcsec), int(parameters.n_neighbors))


def _writer_class(parameters: Any) -> Any:
    from tsmaker.formats import writer_for

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
            # Rows come sorted by spec-z, so each matched spec-z starts one run of keys.
            keys = frame[self.key_column].to_numpy()
            self.matched_specz += 1 + int(np.count_nonzero(keys[1:] != keys[:-1]))
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
    import numpy as np
    import pandas as pd

    from tsmaker.matching.crossmatch import PixelMatches
    from tsmaker.run.partition import finish_partition

    redshift = plan.redshift.frame.iloc[:0]
    redshift = redshift.set_axis(pd.Index([], dtype="int64", name=HEALPIX_COLUMN), axis=0)
    import pyarrow as pa

    schema = plan.object_info.schema
    objects = pa.schema([schema.field(name) for name in plan.object_columns]).empty_table()
    return finish_partition(PixelMatches(redshift, objects, np.empty(0)), plan.recipe)


def _product_metadata(plan: Any) -> dict[str, Any]:
    """What every output file stores about the product: parameters and inputs."""
    return {"tsmaker": plan.parameters.to_dict(), "inputs": plan.inputs}


def _open_writer(plan: Any, data_path: Path) -> Any:
    return _writer_class(plan.parameters)(
        data_path,
        units=plan.units,
        metadata=_product_metadata(plan),
        string_widths=plan.string_widths,
    )


def _write_stream(
    plan: Any,
    results: Any,
    pixels: list[tuple[int, int]],
    data_path: Path,
    statistics: _Statistics,
    report: Any,
) -> None:
    if plan.parameters.output_format == "hats":
        _write_hats(plan, results, pixels, data_path, statistics, report)
        return
    with _open_writer(plan, data_path) as writer:
        for frame, partitions in results:
            statistics.add(frame)
            if len(frame):
                writer.write(frame)
            report("advance", rows=len(frame), partitions=partitions)
        if writer.rows_written == 0:
            writer.write(_empty_frame(plan))


def _write_unique(
    plan: Any,
    results: Any,
    pixels: list[tuple[int, int]],
    data_path: Path,
    statistics: _Statistics,
    report: Any,
) -> dict[str, int]:
    import numpy as np
    import pandas as pd

    from tsmaker.matching.ranking import select_unique_closest

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
        sizes = []
        partition_counts = []
        for index, (frame, partitions) in enumerate(results):
            part_path = parts_dir / f"part-{index:06d}.parquet"
            frame.to_parquet(part_path, index=True)
            part_paths.append(part_path)
            sizes.append(len(frame))
            partition_counts.append(partitions)
            pair_tables.append(frame[[key, object_id, MATCH_DISTANCE_COLUMN, *ties]])
            report("advance", rows=len(frame), partitions=partitions)
        report("step", text="Choosing unique galaxies")
        pairs = pd.concat(pair_tables, ignore_index=True) if pair_tables else None
        if pairs is None or pairs.empty:
            keep = np.zeros(0, dtype=bool)
            counts = {"removed_duplicate_objects": 0, "removed_duplicate_specz": 0}
        else:
            keep, counts = select_unique_closest(
                pairs, key_column=key, object_column=object_id,
                flag_column=roles.get("z_flag"), z_err_column=roles.get("z_err"),
                higher_flag_is_better=plan.parameters.z_flag_better == "higher",
            )
        report("step", text="Writing unique rows")
        filtered = _filtered_parts(part_paths, keep, sizes, partition_counts)
        _write_stream(plan, filtered, pixels, data_path, statistics, _quiet_advance(report))
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    return counts


def _filtered_parts(
    part_paths: list[Path], keep: Any, sizes: list[int], partitions: list[int]
) -> Any:
    import pandas as pd

    start = 0
    for part_path, size, count in zip(part_paths, sizes, partitions, strict=True):
        frame = pd.read_parquet(part_path)
        kept = frame[keep[start : start + size]]
        kept = kept if kept.index.name == HEALPIX_COLUMN else kept.reset_index(drop=True)
        yield kept, count
        start += size


def _quiet_advance(report: Any) -> Any:
    def forward(event: str, **info: Any) -> None:
        if event != "advance":
            report(event, **info)

    return forward


def _write_hats(
    plan: Any,
    results: Any,
    pixels: list[tuple[int, int]],
    data_path: Path,
    statistics: _Statistics,
    report: Any,
) -> None:
    """Write the training set as a HATS catalog, partition by partition."""
    from tsmaker.formats.hats import HatsCatalogWriter

    roles = plan.redshift.roles
    with HatsCatalogWriter(
        data_path,
        ra_column=roles["ra"],
        dec_column=roles["dec"],
        units=plan.units,
        metadata=_product_metadata(plan),
    ) as writer:
        for (order, pixel), (frame, _) in zip(pixels, results, strict=True):
            statistics.add(frame)
            writer.write(order, pixel, frame)
            report("advance", rows=len(frame), partitions=1)
