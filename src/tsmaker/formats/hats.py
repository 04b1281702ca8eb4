"""HATS output: the product as a HATS catalog, one Parquet file per object partition.

Layout
------
- The product's partitions are the object catalog's HEALPix pixels that hold matched
  spec-z: ``dataset/Norder=K/Dir=D/Npix=N.parquet``, each written as it is finished
  (with :class:`tsmaker.formats.ParquetWriter`: units in the field metadata, the
  product parameters under ``b"tsmaker"``), so memory does not grow with the product.
- Each file has the spec-z ``_healpix_29`` as its first column; the catalog's
  coordinates are the spec-z ``ra``/``dec`` columns.
- ``hats.properties``, ``partition_info.csv``, ``dataset/_metadata`` and
  ``dataset/_common_metadata`` are written by hats once every partition is done.
- Everything goes to a hidden ``.<name>.partial-<pid>`` folder that is moved onto the
  final path only when complete.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from tsmaker.matching.crossmatch import HEALPIX_COLUMN
from tsmaker.errors import InputError


class HatsCatalogWriter:
    """Stream a product into a HATS catalog folder, partition by partition.

    Parameters
    ----------
    final_path : pathlib.Path
        The catalog folder to create (its parent must exist).
    ra_column, dec_column : str
        The product's coordinate columns (the spec-z position).
    units, metadata : mapping, optional
        As for :class:`tsmaker.formats.base.TableWriter`.
    """

    format_name: ClassVar[str] = "hats"
    suffix: ClassVar[str] = ".hats"

    def __init__(
        self,
        final_path: Path,
        *,
        ra_column: str,
        dec_column: str,
        units: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.final_path = Path(final_path)
        if not self.final_path.parent.is_dir():
            raise InputError(
                f"output folder '{self.final_path.parent}' does not exist; create it "
                "or choose another output path"
            )
        self.temp_path = self.final_path.with_name(
            f".{self.final_path.name}.partial-{os.getpid()}"
        )
        self.ra_column = ra_column
        self.dec_column = dec_column
        self.units = dict(units or {})
        self.metadata = dict(metadata or {})
        self.pixels: list[tuple[int, int]] = []
        self.rows_written = 0

    def __enter__(self) -> Self:
        shutil.rmtree(self.temp_path, ignore_errors=True)
        self.temp_path.mkdir()
        return self

    def write(self, order: int, pixel: int, frame: Any) -> None:
        """Write one partition (rows indexed by ``_healpix_29``) as its pixel's file."""
        from tsmaker.formats.parquet import ParquetWriter

        if not len(frame):
            return
        folder = self.temp_path / "dataset" / f"Norder={order}" / f"Dir={pixel // 10000 * 10000}"
        folder.mkdir(parents=True, exist_ok=True)
        with ParquetWriter(
            folder / f"Npix={pixel}.parquet", units=self.units, metadata=self.metadata
        ) as writer:
            writer.write(frame.reset_index(names=HEALPIX_COLUMN))
        self.pixels.append((order, pixel))
        self.rows_written += len(frame)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            shutil.rmtree(self.temp_path, ignore_errors=True)
            return
        try:
            self._finish()
        except BaseException:
            shutil.rmtree(self.temp_path, ignore_errors=True)
            raise

    def _finish(self) -> None:
        if not self.pixels:
            raise InputError(
                "no matches: an empty training set cannot be written as HATS; "
                "use --format parquet for an empty product"
            )
        import hats
        from hats.catalog import PartitionInfo, TableProperties
        from hats.pixel_math import HealpixPixel

        hats.io.write_parquet_metadata(self.temp_path)
        partition_info = PartitionInfo.from_healpix(
            [HealpixPixel(order, pixel) for order, pixel in self.pixels]
        )
        partition_info.write_to_file(self.temp_path / "partition_info.csv")
        TableProperties(
            catalog_name=self.final_path.stem,
            catalog_type="object",
            total_rows=self.rows_written,
            ra_column=self.ra_column,
            dec_column=self.dec_column,
            healpix_column=HEALPIX_COLUMN,
            healpix_order=29,
            hats_order=partition_info.get_highest_order(),
            moc_sky_fraction=float(partition_info.calculate_fractional_coverage()),
        ).to_properties_file(self.temp_path)
        if self.final_path.exists():
            shutil.rmtree(self.final_path)
        os.replace(self.temp_path, self.final_path)
