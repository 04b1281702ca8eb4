"""Writers and readers of every output format, chosen by name from one table; plots.

Writers stream a product batch by batch into a hidden temporary file that becomes the
final file when complete::

    writer_class = writer_for("fits")
    with writer_class(path, units=units, metadata=parameters) as writer:
        for batch in batches:
            writer.write(batch)

:mod:`tsmaker.formats.tables` reads every format back (spec-z files and products),
:mod:`tsmaker.formats.plots` draws a product's overview.
"""

from tsmaker.errors import InputError
from tsmaker.formats.base import TableWriter
from tsmaker.formats.csv import CsvWriter
from tsmaker.formats.fits import FitsWriter
from tsmaker.formats.hats import HatsCatalogWriter
from tsmaker.formats.hdf5 import Hdf5Writer
from tsmaker.formats.parquet import ParquetWriter

#: Output format name -> writer class, one per name of ``tsmaker.parameters.OUTPUT_FORMATS``.
WRITERS: dict[str, type[TableWriter]] = {
    writer.format_name: writer
    for writer in (ParquetWriter, CsvWriter, FitsWriter, Hdf5Writer, HatsCatalogWriter)
}


def writer_for(format_name: str) -> type[TableWriter]:
    """The writer class for an output format name.

    Parameters
    ----------
    format_name : str
        One of the keys of :data:`WRITERS` (``"parquet"``, ``"csv"``, ``"fits"``,
        ``"hdf5"``, ``"hats"``).

    Returns
    -------
    type[TableWriter]
        The writer class; instantiate it with the output path.

    Raises
    ------
    tsmaker.errors.InputError
        If the name is not a known format.
    """
    try:
        return WRITERS[format_name]
    except KeyError:
        raise InputError(
            f"unknown output format '{format_name}'; choose one of: {', '.join(WRITERS)}"
        ) from None


__all__ = [
    "WRITERS",
    "CsvWriter",
    "FitsWriter",
    "HatsCatalogWriter",
    "Hdf5Writer",
    "ParquetWriter",
    "TableWriter",
    "writer_for",
]
