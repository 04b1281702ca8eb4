"""HATS output: the product as a HATS catalog, one Parquet file per object partition.

Layout
------
- The product's partitions are the object catalog's HEALPix pixels that hold matched
  spec-z: ``dataset/Norder=K/Dir=D/Npix=N.parquet``, each written as it is finished
  (with :class:`tsmaker.formats.parquet.ParquetWriter`: units in the field metadata,
  the product parameters under ``b"tsmaker"``), so memory does not grow with the
  product.
- Each file has the spec-z ``_healpix_29`` as its first column; the catalog's
  coordinates are the spec-z ``ra``/``dec`` columns.
- ``hats.properties``, ``partition_info.csv``, ``dataset/_metadata`` and
  ``dataset/_common_metadata`` are written by hats once every partition is done.
- Everything goes to a hidden ``.<name>.partial-<pid>`` folder that is moved onto the
  final path only when complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from tsmaker.columns import HEALPIX_COLUMN
from tsmaker.errors import InputError
from tsmaker.formats.base import TableWriter

if TYPE_CHECKING:
    import pandas as pd


class HatsCatalogWriter(TableWriter):
    """Stream a product into a HATS catalog folder, partition by partition.

    Each batch is one partition's rows, indexed by ``_healpix_29``, given with its
    ``(order, pixel)``; ``ra_column`` and ``dec_column`` (the spec-z position) are
    required. See the module docstring for the layout.
    """

    format_name: ClassVar[str] = "hats"
    suffix: ClassVar[str] = ".hats"
    partitioned: ClassVar[bool] = True

    pixels: list[tuple[int, int]]

    def _start(self, first_frame: pd.DataFrame) -> None:
        if self.ra_column is None or self.dec_column is None:
            raise InputError(
                "a HATS product needs its coordinate columns; give ra_column and dec_column"
            )
        from tsmaker import atomic

        atomic.remove(self.temp_path)
        self.temp_path.mkdir()
        self.pixels = []

    def _write_batch(self, frame: pd.DataFrame, pixels: tuple[tuple[int, int], ...]) -> None:
        """Write one partition (rows indexed by ``_healpix_29``) as its pixel's file."""
        from tsmaker.formats.parquet import ParquetWriter

        if len(pixels) != 1:
            raise InputError(
                f"a HATS product is written one partition at a time, and a batch came with "
                f"{len(pixels)} partitions; give each partition's rows with its (order, pixel)"
            )
        (order, pixel), = pixels
        folder = self.temp_path / "dataset" / f"Norder={order}" / f"Dir={pixel // 10000 * 10000}"
        folder.mkdir(parents=True, exist_ok=True)
        with ParquetWriter(
            folder / f"Npix={pixel}.parquet", units=self.units, metadata=self.metadata
        ) as writer:
            writer.write(frame.reset_index(names=HEALPIX_COLUMN))
        self.pixels.append((order, pixel))

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

    def _release(self) -> None:
        return None
