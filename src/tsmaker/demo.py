"""The built-in offline demo: a small DP1-shaped Object collection and a redshift catalog.

Both are generated on first use from :mod:`tsmaker.mock` with a fixed seed, so every
installation gets the same demo without any download.
"""

from __future__ import annotations

from pathlib import Path

DEMO_OBJECT_NAME = "demo"
"""Registry name of the demo Object collection."""
DEMO_REDSHIFT_NAME = "demo-specz"
"""Registry name of the demo redshift catalog."""

DEMO_GENERATOR_VERSION = "1"
"""Bump when the demo generator changes, so existing demo folders are rebuilt."""

OBJECT_COLLECTION_DIRNAME = "demo_object_collection"
REDSHIFT_FILENAME = "demo_specz.parquet"
MARKER_FILENAME = "demo_version.txt"

DEMO_SEED = 20250630
DEMO_FIELDS = ("ECDFS", "EDFS", "Rubin_SV_38_7")
DEMO_OBJECT_ROWS = 24_000
DEMO_FIELD_RADIUS_DEG = 0.5
DEMO_REDSHIFT_ROWS = 2_500
DEMO_MARGIN_ARCSEC = 5.0
# Small partitions so that the demo has several of them and a non-empty margin cache.
DEMO_PARTITION_ROWS = 2_000
DEMO_HIGHEST_ORDER = 9


def _is_complete(directory: Path) -> bool:
    marker = directory / MARKER_FILENAME
    return (
        marker.is_file()
        and marker.read_text().strip() == DEMO_GENERATOR_VERSION
        and (directory / OBJECT_COLLECTION_DIRNAME / "collection.properties").is_file()
        and (directory / REDSHIFT_FILENAME).is_file()
    )


def ensure_demo_data(directory: Path | None = None) -> tuple[Path, Path]:
    """Make sure the demo catalogs exist, generating them on first use.

    Generation happens in a temporary sibling folder that is renamed into place only
    when complete, so an interrupted run never leaves a half-written demo. A version
    marker in the folder makes a newer generator rebuild older demo data.

    Parameters
    ----------
    directory : pathlib.Path, optional
        Folder for the demo data; default :func:`tsmaker.settings.demo_dir`.

    Returns
    -------
    tuple of pathlib.Path
        The Object collection folder (HATS collection with a 5 arcsec margin) and the
        redshift Parquet file.
    """
    import shutil
    import tempfile

    from tsmaker import settings

    directory = Path(directory) if directory is not None else settings.demo_dir()
    object_path = directory / OBJECT_COLLECTION_DIRNAME
    redshift_path = directory / REDSHIFT_FILENAME
    if _is_complete(directory):
        return object_path, redshift_path

    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-building-",
                                    dir=directory.parent))
    try:
        _generate(staging)
        if directory.exists():
            # An outdated or broken demo: move it aside first so the swap stays atomic.
            stale = Path(tempfile.mkdtemp(prefix=f".{directory.name}-stale-",
                                          dir=directory.parent))
            directory.rename(stale / "old")
            staging.rename(directory)
            shutil.rmtree(stale, ignore_errors=True)
        else:
            staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return object_path, redshift_path


def _generate(folder: Path) -> None:
    """Write the demo catalogs and, last, the version marker into ``folder``."""
    from tsmaker.mock import (
        DP1_FIELDS,
        mock_object_frame,
        mock_specz_frame,
        write_object_collection,
    )

    objects = mock_object_frame(
        DEMO_OBJECT_ROWS,
        seed=DEMO_SEED,
        fields={name: DP1_FIELDS[name] for name in DEMO_FIELDS},
        field_radius_deg=DEMO_FIELD_RADIUS_DEG,
        flux_types=("cModel", "gaap1p0", "psf"),
    )
    write_object_collection(
        objects,
        folder / OBJECT_COLLECTION_DIRNAME,
        catalog_name="object_lc",
        margin_arcsec=DEMO_MARGIN_ARCSEC,
        highest_order=DEMO_HIGHEST_ORDER,
        partition_rows=DEMO_PARTITION_ROWS,
    )
    redshifts = mock_specz_frame(objects, n_rows=DEMO_REDSHIFT_ROWS, seed=DEMO_SEED + 1)
    redshifts.to_parquet(folder / REDSHIFT_FILENAME, index=False)
    (folder / MARKER_FILENAME).write_text(DEMO_GENERATOR_VERSION + "\n")
