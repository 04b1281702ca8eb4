"""Write a mock Object frame as a HATS collection with a margin cache, as DP1's.

The collection (``object_lc`` + ``object_lc_5arcs``) is written by LSDB or by
hats-import, so every test and benchmark reads files made by the real tools.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DP1_PARTITION_ROWS = 15_000
"""Rows per partition of the real DP1 Object collection (``hats_max_rows``)."""

WRITE_ENGINES = ("from_dataframe", "hats_import")
"""Ways :func:`write_object_collection` can build the collection."""


def write_object_collection(
    frame: pd.DataFrame,
    path: Path,
    *,
    catalog_name: str = "object_lc",
    margin_arcsec: float = 5.0,
    highest_order: int = 7,
    partition_rows: int | None = None,
    engine: str = "from_dataframe",
    n_workers: int = 2,
) -> Path:
    """Write objects as a HATS collection: main catalog plus margin cache, like DP1.

    The result holds ``<catalog_name>`` and ``<catalog_name>_<margin>arcs`` (e.g.
    ``object_lc`` and ``object_lc_5arcs``) and opens with ``lsdb.open_catalog(path)``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Objects with ``coord_ra`` / ``coord_dec`` in degrees.
    path : pathlib.Path
        Collection folder to create; must not exist yet.
    catalog_name : str
        Name of the main catalog inside the collection.
    margin_arcsec : float
        Margin-cache threshold, arcsec (a whole number of arcsec: the margin catalog is
        named after it).
    highest_order : int
        Deepest HEALPix order of a partition.
    partition_rows : int, optional
        Maximum rows per partition (DP1 used :data:`DP1_PARTITION_ROWS`); default: the
        engine's own (1,000,000 rows). Pick ``highest_order`` deep enough that no single
        HEALPix pixel of that order holds more, or hats raises ValueError.
    engine : {"from_dataframe", "hats_import"}
        ``"from_dataframe"`` uses ``lsdb.from_dataframe`` in this process (simple; about
        30 s per million rows of 43 columns). ``"hats_import"`` writes the frame to
        temporary Parquet files and runs the hats-import collection pipeline on a local
        Dask cluster of ``n_workers`` processes, for millions of rows.
    n_workers : int
        Dask worker processes for ``engine="hats_import"``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileExistsError
        If ``path`` already exists.
    ValueError
        If ``engine`` is unknown, or a pixel at ``highest_order`` holds more than
        ``partition_rows`` rows.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; remove it or choose another folder.")
    if engine not in WRITE_ENGINES:
        raise ValueError(f"Unknown engine {engine!r}; choose one of {WRITE_ENGINES}.")
    from tsmaker.demo.compile_cache import enable_numba_caching

    enable_numba_caching()  # hats' kernels: compiled once per machine, not per process
    if engine == "hats_import":
        _write_with_hats_import(
            frame,
            path,
            catalog_name=catalog_name,
            margin_arcsec=margin_arcsec,
            highest_order=highest_order,
            partition_rows=partition_rows,
            n_workers=n_workers,
        )
        return path

    import warnings

    import lsdb

    with warnings.catch_warnings():
        # lsdb warns that from_dataframe is meant for small data; callers chose it.
        warnings.filterwarnings(
            "ignore", message="from_dataframe is not intended", category=RuntimeWarning
        )
        catalog = lsdb.from_dataframe(
            frame,
            ra_column="coord_ra",
            dec_column="coord_dec",
            catalog_name=catalog_name,
            highest_order=highest_order,
            partition_rows=partition_rows,
            margin_threshold=margin_arcsec,
        )
    catalog.write_catalog(path, catalog_name=catalog_name, as_collection=True, progress_bar=False)
    return path


def _write_with_hats_import(
    frame: pd.DataFrame,
    path: Path,
    *,
    catalog_name: str,
    margin_arcsec: float,
    highest_order: int,
    partition_rows: int | None,
    n_workers: int,
) -> None:
    """Build the collection with the hats-import pipeline (catalog, then margin)."""
    import shutil
    import tempfile
    import warnings

    import pyarrow as pa
    import pyarrow.parquet as pq
    from dask.distributed import Client
    from hats_import.collection.arguments import CollectionArguments
    from hats_import.pipeline import pipeline_with_client

    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-import-", dir=path.parent))
    try:
        input_dir = staging / "input"
        input_dir.mkdir()
        chunk_rows = 500_000
        input_files = []
        for chunk_index, start in enumerate(range(0, max(len(frame), 1), chunk_rows)):
            chunk = pa.Table.from_pandas(
                frame.iloc[start : start + chunk_rows], preserve_index=False
            )
            chunk_path = input_dir / f"chunk_{chunk_index:05d}.parquet"
            pq.write_table(chunk, chunk_path)
            input_files.append(chunk_path)
        arguments = (
            CollectionArguments(
                output_artifact_name=path.name,
                output_path=path.parent,
                tmp_dir=staging / "tmp",
                progress_bar=False,
                resume=False,
            )
            .catalog(
                input_file_list=input_files,
                file_reader="parquet",
                ra_column="coord_ra",
                dec_column="coord_dec",
                output_artifact_name=catalog_name,
                highest_healpix_order=highest_order,
                **({} if partition_rows is None else {"pixel_threshold": partition_rows}),
            )
            .add_margin(margin_threshold=margin_arcsec, is_default=True)
        )
        with (
            Client(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                local_directory=staging / "dask",
            ) as client,
            warnings.catch_warnings(),
        ):
            # The margin step re-reads partition info from the fresh files and says so.
            warnings.filterwarnings(
                "ignore", message="Computing partitions from catalog", category=UserWarning
            )
            pipeline_with_client(arguments, client)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
