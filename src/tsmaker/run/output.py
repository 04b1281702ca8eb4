"""Compute the matched partitions and stream them into the product file.

Partitions are matched and finished on threads or Dask workers and arrive in HEALPix
order, a bounded number at a time. With ``--unique closest`` the de-duplication needs the whole
catalog, so the finished partitions first go to temporary Parquet parts next to the
output while their (key, object, distance, flag, error) columns are collected; the
winners are chosen once, then the parts are filtered into the final file in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker import atomic
from tsmaker.columns import HEALPIX_COLUMN, MATCH_DISTANCE_COLUMN, MATCH_RANK_COLUMN
from tsmaker.run.partition import PartitionRecipe, PartitionResult, training_counts
from tsmaker.run.plan import Reporter, RunPlan

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tsmaker.formats.base import TableWriter
    from tsmaker.matching.crossmatch import PixelMatch
    from tsmaker.science.coverage import RepresentativenessFigures
    from tsmaker.science.representativeness import SampleCounts

#: A task gathers neighbouring partitions until it holds this many spec-z or partitions.
TASK_SPECZ_ROWS = 20_000
TASK_PARTITIONS = 32


def write_product(
    plan: RunPlan, data_path: Path, report: Reporter
) -> tuple[dict[str, Any], atomic.PendingFile]:
    """Run the match for ``plan`` and write the product file; its summary and the file.

    The file is complete but still under its temporary name: the pipeline moves it
    onto ``data_path`` once the registry lets the product finish.
    """
    from tsmaker.formats import writer_for
    from tsmaker.inputs.cleaning import release_arrow_memory
    from tsmaker.matching.crossmatch import MatchParameters, PixelMatcher, PixelMatchGroup
    from tsmaker.matching.planning import plan_pixel_matches
    from tsmaker.run.execution import PartitionTask, open_executor
    from tsmaker.run.partition import match_and_finish

    parameters = plan.parameters
    report("step", text="Planning the crossmatch")
    redshift = plan.redshift
    match_parameters = MatchParameters(float(parameters.radius_arcsec),
                                       int(parameters.n_neighbors))
    pixel_matches = plan_pixel_matches(
        redshift.frame,
        ra_column=redshift.roles["ra"],
        dec_column=redshift.roles["dec"],
        object_files=plan.object_info.files,
        radius_arcsec=match_parameters.radius_arcsec,
        healpix=plan.redshift_healpix,
    )
    plan.redshift_healpix = None
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
    writer_class = writer_for(parameters.output_format)
    partitions = len(pixel_matches)
    statistics = _Statistics(plan.recipe, specz_rows)
    report("partitions", total=partitions)
    report("step", text=f"Matching {partitions} partitions")
    with open_executor(plan.execution) as executor:
        # At least 4 tasks per thread when there are enough partitions, for balance.
        per_task = min(TASK_PARTITIONS, max(1, partitions // (4 * executor.threads)))
        groups = deque(group_pixel_matches(pixel_matches, partitions=per_task))
        del pixel_matches
        # Tasks are made as the executor asks for them and each group is let go once
        # its task is done, so neither its spec-z rows nor what pandas caches on them
        # while they are matched stay in memory for the rest of the run.
        tasks = (
            PartitionTask(
                match_and_finish,
                (PixelMatchGroup(tuple(groups.popleft())), matcher, plan.recipe,
                 writer_class.partitioned),
            )
            for _ in range(len(groups))
        )
        ordered = executor.ordered_results(tasks)
        results = (item for items in ordered for item in items)
        try:
            if parameters.unique == "closest":
                unique_counts, pending = _write_unique(plan, results, data_path, statistics,
                                                       report)
            else:
                unique_counts = None
                pending = _write_stream(plan, results, data_path, statistics, report)
        finally:
            # Stopped early (a failed write, an interrupt): shut the tasks down here, not
            # wherever the garbage collector happens to run (a pool thread cannot join
            # itself, and would print a traceback after our one line).
            ordered.close()
    summary = statistics.summary(partitions)
    if unique_counts is not None:
        summary["unique"] = unique_counts
    representativeness = statistics.representativeness(plan)
    if representativeness is not None:
        summary["representativeness"] = representativeness
    summary["executor"] = executor.description
    return summary, pending


def group_pixel_matches(
    pixel_matches: Sequence[PixelMatch],
    specz_rows: int = TASK_SPECZ_ROWS,
    partitions: int = TASK_PARTITIONS,
) -> list[list[PixelMatch]]:
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
    groups: list[list[PixelMatch]] = []
    current: list[PixelMatch] = []
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


class _Statistics:
    """Counts gathered while streaming: rows, spec-z, distances, the samples' aggregates."""

    def __init__(self, recipe: PartitionRecipe, specz_rows: int) -> None:
        self.recipe = recipe
        self.key_column = recipe.key_column
        self.specz_rows = specz_rows
        self.rows = 0
        self.matched_specz = 0
        self.distances: list[np.ndarray] = []
        self.photometric: SampleCounts | None = None
        self.training: SampleCounts | None = None

    def add(self, frame: pd.DataFrame) -> None:
        """Count the finished rows written."""
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
            counts = training_counts(frame, self.recipe)
            if counts is not None:
                self.training = counts if self.training is None else self.training + counts

    def add_sample(self, counts: SampleCounts | None) -> None:
        """Add the photometric sample's counts of a task."""
        if counts is not None:
            self.photometric = counts if self.photometric is None else self.photometric + counts

    def representativeness(self, plan: RunPlan) -> RepresentativenessFigures | None:
        """``summary["representativeness"]``: coverage, completeness; None without fluxes."""
        from tsmaker.science.coverage import summarise
        from tsmaker.science.representativeness import choose_grid, empty_counts

        recipe = self.recipe
        if recipe.sample_rate <= 0 or recipe.flux_type is None:
            return None
        grid = choose_grid(recipe.bands)
        empty = empty_counts(recipe.bands, grid)
        return summarise(
            self.photometric or empty, self.training or empty, bands=recipe.bands, grid=grid,
            sampling={"rate": round(recipe.sample_rate, 9),
                      "catalog_rows": plan.object_info.total_rows,
                      "drawn_from": "the objects of the partitions holding spec-z",
                      "by": "object id" if recipe.object_id_column else "RA"},
            magnitudes={"flux_type": recipe.flux_type, "zero_point": recipe.zero_point,
                        "dust": recipe.dust.name, "dereddened": recipe.dust.dereddens},
        )

    def summary(self, partitions: int) -> dict[str, object]:
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


def _empty_frame(plan: RunPlan) -> pd.DataFrame:
    """A zero-row frame with the product's columns and dtypes (for an empty product)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from tsmaker.matching.crossmatch import PixelMatches
    from tsmaker.run.partition import finish_partition

    redshift = plan.redshift.frame.iloc[:0]
    redshift = redshift.set_axis(pd.Index([], dtype="int64", name=HEALPIX_COLUMN), axis=0)
    schema = plan.object_info.schema
    assert schema is not None
    objects = pa.schema([schema.field(name) for name in plan.object_columns]).empty_table()
    return finish_partition(PixelMatches(redshift, objects, np.empty(0)), plan.recipe)


def _open_writer(plan: RunPlan, data_path: Path) -> TableWriter:
    from tsmaker.formats import writer_for
    from tsmaker.run.provenance import product_metadata

    options = {"layout": plan.parameters.hdf5_layout, "group": plan.parameters.hdf5_group} if (
        plan.parameters.output_format == "hdf5") else {}
    return writer_for(plan.parameters.output_format)(
        data_path,
        units=plan.units,
        metadata=product_metadata(plan),
        string_widths=plan.string_widths,
        ra_column=plan.redshift.roles["ra"],
        dec_column=plan.redshift.roles["dec"],
        **options,
    )


def _write_stream(
    plan: RunPlan,
    results: Iterable[PartitionResult],
    data_path: Path,
    statistics: _Statistics,
    report: Reporter,
) -> atomic.PendingFile:
    writer = _open_writer(plan, data_path)
    try:
        for frame, pixels, counts in results:
            statistics.add(frame)
            statistics.add_sample(counts)
            # The first rows fix the columns' dtypes; a partition without matches has
            # none to give (an empty product takes them from the plan, below).
            if len(frame):
                writer.write(frame, pixels)
            report("advance", rows=len(frame), partitions=len(pixels))
        if writer.rows_written == 0:
            writer.write(_empty_frame(plan))
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


def _write_unique(
    plan: RunPlan,
    results: Iterable[PartitionResult],
    data_path: Path,
    statistics: _Statistics,
    report: Reporter,
) -> tuple[dict[str, int], atomic.PendingFile]:
    import numpy as np
    import pandas as pd

    from tsmaker.matching.ranking import select_unique_closest

    roles = plan.redshift.roles
    key = plan.recipe.key_column
    object_id = plan.recipe.object_id_column
    assert object_id is not None  # checked when the run was planned
    ties = [c for c in (roles.get("z_flag"), roles.get("z_err")) if c]
    parts_dir = atomic.scratch_folder(data_path)  # reaped if the run is killed
    atomic.remove(parts_dir)
    parts_dir.mkdir(parents=True)
    try:
        pair_tables = []
        parts: list[tuple[Path, int, tuple[tuple[int, int], ...]]] = []
        for index, (frame, pixels, counts) in enumerate(results):
            statistics.add_sample(counts)
            part_path = parts_dir / f"part-{index:06d}.parquet"
            frame.to_parquet(part_path, index=True)
            parts.append((part_path, len(frame), pixels))
            pair_tables.append(frame[[key, object_id, MATCH_DISTANCE_COLUMN, *ties]])
            report("advance", rows=len(frame), partitions=len(pixels))
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
        pending = _write_stream(plan, _filtered_parts(parts, keep), data_path, statistics,
                                _quiet_advance(report))
    finally:
        atomic.remove(parts_dir)
    return counts, pending


def _filtered_parts(
    parts: list[tuple[Path, int, tuple[tuple[int, int], ...]]], keep: np.ndarray
) -> Iterator[PartitionResult]:
    import pandas as pd

    start = 0
    for part_path, size, pixels in parts:
        frame = pd.read_parquet(part_path)
        kept = frame[keep[start : start + size]]
        kept = kept if kept.index.name == HEALPIX_COLUMN else kept.reset_index(drop=True)
        yield kept, pixels, None
        start += size


def _quiet_advance(report: Reporter) -> Reporter:
    def forward(event: str, **info: object) -> None:
        if event != "advance":
            report(event, **info)

    return forward
