"""The built-in offline demo: a small DP1-shaped Object collection and a redshift catalog.

Both are generated on first use with a fixed seed (:mod:`tsmaker.demo.mock`,
:mod:`tsmaker.demo.mock_specz`, :mod:`tsmaker.demo.mock_hats`), so every installation gets the
same demo without any download.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tsmaker.registry import CatalogRecord, Registry

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
DEMO_PARTITION_ROWS = 3_000
DEMO_HIGHEST_ORDER = 8


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

    The catalogs are generated in a temporary folder inside ``directory`` and moved
    into place only when complete; the version marker is written last, so an
    interrupted run is detected and redone. A newer generator (another
    :data:`DEMO_GENERATOR_VERSION`) rebuilds older demo data. Only the demo's own files
    in ``directory`` are ever replaced.

    Parameters
    ----------
    directory : pathlib.Path, optional
        Folder for the demo data; default :func:`tsmaker.settings.demo_dir`.

    Returns
    -------
    tuple of pathlib.Path
        The Object collection folder (HATS collection ``object_lc`` with the 5 arcsec
        margin ``object_lc_5arcs``) and the redshift Parquet file.
    """
    import os
    import shutil
    import tempfile

    from tsmaker import settings

    directory = Path(directory) if directory is not None else settings.demo_dir()
    object_path = directory / OBJECT_COLLECTION_DIRNAME
    redshift_path = directory / REDSHIFT_FILENAME
    if _is_complete(directory):
        return object_path, redshift_path

    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-building-", dir=directory))
    try:
        _generate(staging)
        marker = directory / MARKER_FILENAME
        marker.unlink(missing_ok=True)
        for name in (OBJECT_COLLECTION_DIRNAME, REDSHIFT_FILENAME):
            target = directory / name
            if target.exists():
                # Outdated or half-replaced demo data: move it out of the way, then drop it.
                target.rename(staging / f"stale-{name}")
            (staging / name).rename(target)
        staged_marker = staging / MARKER_FILENAME
        staged_marker.write_text(DEMO_GENERATOR_VERSION + "\n")
        os.replace(staged_marker, marker)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return object_path, redshift_path


def _generate(folder: Path) -> None:
    """Write the demo Object collection and redshift catalog into ``folder``."""
    from tsmaker.demo.mock import mock_object_frame
    from tsmaker.demo.mock_hats import write_object_collection
    from tsmaker.demo.mock_sky import DP1_FIELDS
    from tsmaker.demo.mock_specz import mock_specz_frame

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


def register_demo(registry: Registry) -> tuple[CatalogRecord, CatalogRecord]:
    """Generate the demo data if needed and register ``demo`` and ``demo-specz``.

    Returns the two catalog records (object, redshift). Safe to call from several
    processes at once: a catalog registered meanwhile by another process is reused.
    """
    from tsmaker.errors import CatalogError

    object_path, redshift_path = ensure_demo_data()
    wanted = (
        dict(kind="object", name=DEMO_OBJECT_NAME, location=str(object_path), profile="dp1",
             description="built-in offline demo: DP1-shaped Object collection (mock data)",
             row_count=DEMO_OBJECT_ROWS),
        dict(kind="redshift", name=DEMO_REDSHIFT_NAME, location=str(redshift_path),
             columns={"ra": "ra", "dec": "dec", "z": "z", "z_err": "z_err",
                      "z_flag": "z_flag", "id": "specz_id"},
             description="built-in offline demo: mock spec-z overlapping `demo`",
             row_count=DEMO_REDSHIFT_ROWS),
    )
    records = []
    for fields in wanted:
        record = registry.find_catalog(fields["name"], kind=fields["kind"])
        if record is None or record.location != fields["location"]:
            try:
                record = registry.add_catalog(**fields, replace=record is not None)
            except CatalogError:
                record = registry.get_catalog(fields["name"], kind=fields["kind"])
        records.append(record)
    return records[0], records[1]


def provide(name: str, registry: Registry) -> CatalogRecord:
    """The built-in-catalog hook (:mod:`tsmaker.inputs.builtin`): ``demo`` or ``demo-specz``."""
    object_record, redshift_record = register_demo(registry)
    return object_record if name == DEMO_OBJECT_NAME else redshift_record
