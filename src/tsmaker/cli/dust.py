"""``tsmaker dust ...``: where each dust map is, and fetching one."""

from pathlib import Path
from typing import Annotated

import typer

from tsmaker.cli.app import JsonOption, dust_app


@dust_app.command("status")
def dust_status(
    dust_dir: Annotated[Path | None, typer.Option(help="Also look in this folder first.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Each dust map: where it was looked for, found or not, size."""
    from tsmaker.cli.render import print_json, print_table
    from tsmaker.science.dust_maps import dust_status as status

    rows = []
    for location in status(dust_dir):
        rows.append({
            "map": location.name,
            "found": location.found,
            "directory": str(location.directory) if location.directory else None,
            "size_mb": round(location.size_bytes / 1e6, 1),
            "files": [str(p) for p in location.files],
            "searched": [f"{label}: {folder}" for label, folder in location.searched],
        })
    if json_output:
        print_json(rows)
    else:
        print_table(rows, ["map", "found", "size_mb", "directory", "searched"], "Dust maps")


@dust_app.command("fetch")
def dust_fetch(
    name: Annotated[str, typer.Argument(help="sfd, csfd, planck or planck-gnilc.")],
    dust_dir: Annotated[Path | None, typer.Option(
        help="Download into this folder. \\[default: $TSMAKER_HOME/dustmaps]")] = None,
    base_url: Annotated[str | None, typer.Option(help="Mirror to download from.")] = None,
) -> None:
    """Download a dust map (with dustmaps' URLs and checksums)."""
    from tsmaker.cli.render import message, stderr
    from tsmaker.science.dust_fetch import fetch_map

    progress_bar = None
    if stderr.is_terminal:
        from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

        progress_bar = Progress(*Progress.get_default_columns(), DownloadColumn(),
                                TransferSpeedColumn(), console=stderr, transient=True)
        progress_bar.start()
        task = progress_bar.add_task(name, total=None)

    def progress(done: int, total: int | None) -> None:
        if progress_bar is not None:
            progress_bar.update(task, completed=done, total=total)

    try:
        location = fetch_map(name, dust_dir, base_url=base_url, progress=progress)
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    message(f"{name}: {location.size_bytes / 1e6:.1f} MB in {location.directory}")
