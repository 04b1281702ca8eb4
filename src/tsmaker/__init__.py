"""tsmaker: build photo-z training sets from spec-z catalogs and LSST Object photometry.

The public API is re-exported here; users never import deep paths::

    from tsmaker import make_training_set, read_product
    product = make_training_set("train", "demo-specz", "demo", radius_arcsec=1.0)
    table = read_product(product.full_name)
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that owns it. Imported on first use, so that
#: ``import tsmaker`` (and ``tsmaker --help``) stays light.
_EXPORTS: dict[str, str] = {
    "make_training_set": "tsmaker.run.pipeline",
    "RunParameters": "tsmaker.parameters",
    "Registry": "tsmaker.registry",
    "ProductRecord": "tsmaker.registry",
    "CatalogRecord": "tsmaker.registry",
    "read_product": "tsmaker.manage.products",
    "read_product_table": "tsmaker.formats.tables",
    "plot_product": "tsmaker.manage.products",
    "plot_product_figures": "tsmaker.manage.products",
    "TsmakerError": "tsmaker.errors",
    "InputError": "tsmaker.errors",
    "ParameterError": "tsmaker.errors",
    "CatalogError": "tsmaker.errors",
    "ProductError": "tsmaker.errors",
    "RegistryError": "tsmaker.errors",
    "DustMapError": "tsmaker.errors",
    "RunInterrupted": "tsmaker.errors",
}

__all__ = [
    "CatalogError",
    "CatalogRecord",
    "DustMapError",
    "InputError",
    "ParameterError",
    "ProductError",
    "ProductRecord",
    "Registry",
    "RegistryError",
    "RunInterrupted",
    "RunParameters",
    "TsmakerError",
    "__version__",
    "make_training_set",
    "plot_product",
    "plot_product_figures",
    "read_product",
    "read_product_table",
]

if TYPE_CHECKING:
    from tsmaker.errors import (
        CatalogError,
        DustMapError,
        InputError,
        ParameterError,
        ProductError,
        RegistryError,
        RunInterrupted,
        TsmakerError,
    )
    from tsmaker.formats.tables import read_product_table
    from tsmaker.manage.products import plot_product, plot_product_figures, read_product
    from tsmaker.parameters import RunParameters
    from tsmaker.registry import CatalogRecord, ProductRecord, Registry
    from tsmaker.run.pipeline import make_training_set


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tsmaker' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__
