"""Everything the CLI prints: JSON, tables, records, progress. Data on stdout, the rest on stderr.

Only the CLI imports this module (it imports rich); the library never does.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from tsmaker.science.coverage import RepresentativenessFigures

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def print_json(payload: object) -> None:
    """Print JSON alone on stdout (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str, allow_nan=False
                                if _finite(payload) else True) + "\n")
    sys.stdout.flush()


def _finite(payload: object) -> bool:
    try:
        json.dumps(payload, default=str, allow_nan=False)
    except ValueError:
        return False
    return True


def print_table(
    rows: Sequence[Mapping[str, object]], columns: Sequence[str], title: str
) -> None:
    """A table on stdout: rich in a terminal, tab-separated when piped."""
    if not stdout.is_terminal:
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write("\t".join(_tsv_cell(row.get(c)) for c in columns) + "\n")
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    stdout.print(table)


def print_record(record: Mapping[str, object], title: str) -> None:
    """One record: a two-column rich table in a terminal, aligned lines when piped."""
    if stdout.is_terminal:
        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for key, value in record.items():
            shown = json.dumps(value, default=str) if isinstance(value, dict | list) else (
                _cell(value))
            table.add_row(key, shown)
        stdout.print(table)
        return
    sys.stdout.write(f"{title}\n")
    width = max((len(key) for key in record), default=0)
    for key, value in record.items():
        text = json.dumps(value, default=str) if isinstance(value, dict | list) else _cell(value)
        sys.stdout.write(f"  {key.ljust(width)}  {text}\n")
    sys.stdout.flush()


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def _tsv_cell(value: object) -> str:
    r"""A cell of tab-separated output: one line, no tab (backslash escapes instead).

    Examples
    --------
    >>> _tsv_cell("two\tcolumns\nand lines\\")
    'two\\tcolumns\\nand lines\\\\'
    """
    text = _cell(value)
    if not any(character in text for character in "\t\n\r\\"):
        return text
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def message(text: str) -> None:
    """An informative line on stderr."""
    stderr.print(text, highlight=False)


def error(text: str) -> None:
    """``Error: ...`` on stderr, plain (no markup)."""
    sys.stderr.write(f"Error: {text}\n")
    sys.stderr.flush()


class ProgressReporter:
    """Renders pipeline events on stderr: a progress bar in a terminal, nothing when quiet.

    Notices are always printed unless ``quiet``; bars only when stderr is a terminal.
    """

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.interactive = stderr.is_terminal and not quiet
        self.started = time.monotonic()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, event: str, **info: Any) -> None:
        """Render one pipeline event."""
        if self.quiet:
            return
        if event == "step":
            if self.interactive:
                stderr.print(f"[dim]{info['text']}…[/dim]")
        elif event == "notice":
            message(f"Note: {info['text']}")
        elif event == "partitions" and self.interactive and info["total"]:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("matching"), BarColumn(), MofNCompleteColumn(),
                TextColumn("partitions"), TimeElapsedColumn(), console=stderr, transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("match", total=info["total"])
        elif event == "advance" and self._progress is not None:
            self._progress.advance(self._task, info.get("partitions", 1))
        elif event == "done":
            self.close()

    def close(self) -> None:
        """Stop the progress bar, if any."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def summary_lines(product: Mapping[str, Any]) -> Iterable[str]:
    """The human summary printed after a run."""
    summary = product.get("summary") or {}
    distance = summary.get("median_match_distance_arcsec")
    yield f"{product['full_name']}: {product['rows']} rows -> {product['files'][0]}"
    yield (
        f"  matched {summary.get('matched_specz', 0)} of {summary.get('specz_rows', 0)} spec-z "
        f"({100 * summary.get('matched_fraction', 0):.1f}%), median distance "
        + (f"{distance:.3f} arcsec" if distance is not None else "-")
        + f", {summary.get('elapsed_seconds', 0):.1f} s"
    )
    unique = summary.get("unique")
    if unique:
        yield (
            f"  unique: removed {unique['removed_duplicate_objects']} rows for repeated objects, "
            f"{unique['removed_duplicate_specz']} for repeated spec-z"
        )
    yield from representativeness_lines(summary.get("representativeness"))


def shown_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A product record for reading: the representativeness figures without their counts.

    The histograms and grid cells behind the figures are left to ``--json``.
    """
    shown = dict(record)
    summary = dict(shown.get("summary") or {})
    figures = summary.get("representativeness")
    if figures:
        summary["representativeness"] = {
            key: value for key, value in figures.items() if key not in ("histograms", "grid")
        } | {"histograms, grid": "see --json"}
        shown["summary"] = summary
    return shown


def representativeness_lines(figures: RepresentativenessFigures | None) -> Iterable[str]:
    """The coverage and completeness figures of a product, in a few lines."""
    if not figures:
        return
    sample = figures.get("photometric_sample") or {}
    coverage = figures.get("coverage_fraction")
    grid = figures.get("grid")
    band = grid.get("magnitude_band", "") if grid else ""
    if coverage is not None:
        axes = ", ".join([band, *(grid.get("colours", []) if grid else [])])
        yield (
            f"  coverage: {coverage:.1%} of the photometric sample ({sample.get('objects', 0):,} "
            f"objects) is in an ({axes}) cell holding a training galaxy"
        )
        bins = []
        for row in figures.get("coverage_fraction_by_magnitude") or []:
            low, high = row["magnitude_min"], row["magnitude_max"]
            label = f"<{high:g}" if low is None else f">={low:g}" if high is None else (
                f"{low:g}-{high:g}")
            fraction = row["fraction"]
            bins.append(f"{label} " + (f"{fraction:.0%}" if fraction is not None else "-"))
        yield f"  coverage by {band}: " + ", ".join(bins)
    completeness = figures.get("completeness_50_mag") or {}
    bands = figures.get("bands") or list(completeness)
    if completeness:
        yield "  50% completeness vs the photometric sample: " + ", ".join(
            f"{band} " + (f"{completeness[band]:.2f}" if completeness.get(band) is not None
                          else "-")
            for band in bands
        ) + " mag"
