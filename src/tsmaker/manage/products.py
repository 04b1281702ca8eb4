"""The products the registry holds: list, show, locate, read, plot and remove them.

Each function takes an open registry (or opens the default one). Listing and showing
first reap the products whose process died (:mod:`tsmaker.run.reaping`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker import atomic
from tsmaker.columns import SPECZ_ROW_COLUMN, file_column
from tsmaker.errors import InputError, ProductError
from tsmaker.registry import using_registry
from tsmaker.run.reaping import reap_interrupted_products

if TYPE_CHECKING:
    import pandas as pd

    from tsmaker.formats.plots import ProductContent, Sky
    from tsmaker.registry import ProductRecord, Registry


def list_products(registry: Registry | None = None) -> list[ProductRecord]:
    """Every product, newest first (products whose process died are marked so first)."""
    with using_registry(registry) as opened:
        reap_interrupted_products(opened)
        return opened.list_products()


def get_product(reference: str | int, registry: Registry | None = None) -> ProductRecord:
    """One product by id, full name (``NAME_<id>``) or a name only one product has."""
    with using_registry(registry) as opened:
        reap_interrupted_products(opened)
        return opened.get_product(reference)


def data_path(product: ProductRecord, *, purpose: str = "read") -> Path:
    """The data file (or HATS folder) of a finished product.

    Raises
    ------
    ProductError
        The product is not done, has no files, or its data file is missing.
    """
    if product.status != "done":
        reason = f" ({product.message})" if product.message else ""
        advice = ("wait for it to finish" if product.status == "running"
                  else f"run it again, e.g. `tsmaker run --like {product.full_name}`")
        raise ProductError(
            f"product {product.full_name} is {product.status}{reason}, not done; only a "
            f"finished product can be {purpose}: {advice}"
        )
    if not product.files:
        raise ProductError(f"product {product.full_name} has no files recorded; run it again")
    path = Path(product.files[0])
    if not path.exists():
        raise ProductError(
            f"data file {str(path)!r} of product {product.full_name} is missing; it was "
            "moved or deleted: run the product again, or remove it with `tsmaker products rm`"
        )
    return path


def read_product(
    reference: str | int, columns: list[str] | None = None, registry: Registry | None = None
) -> pd.DataFrame:
    """A finished product's table as a pandas DataFrame, whatever its format."""
    from tsmaker.formats.tables import read_product_table

    return read_product_table(data_path(get_product(reference, registry)), columns)


def remove_product(
    reference: str | int, *, force: bool = False, registry: Registry | None = None
) -> ProductRecord:
    """Delete a product's files, then its record; the record as it was.

    Raises
    ------
    ProductError
        The product is still running and ``force`` is false.
    """
    with using_registry(registry) as opened:
        product = opened.get_product(reference)
        if product.status == "running" and not force:
            # The registry says so too; asking first keeps the files when it refuses.
            opened.remove_product(product.id, force=False)
        for name in product.files:
            atomic.remove(Path(name))
        return opened.remove_product(product.id, force=True)


def plot_product(
    reference: str | int, output: Path | None = None, registry: Registry | None = None
) -> Path:
    """Draw the overview PNG of a finished product (:mod:`tsmaker.formats.plots`).

    Parameters
    ----------
    reference : str or int
        Product id, full name (``NAME_<id>``) or a name only one product has.
    output : pathlib.Path, optional
        PNG file to write; its folder must exist. Default: ``<stem>.png`` next to
        the product's data file.
    registry : Registry, optional
        Default: the registry in ``$TSMAKER_HOME``.

    Returns
    -------
    pathlib.Path
        The PNG written.

    Raises
    ------
    ProductError
        Unknown product, a product that is not "done", or a missing or unreadable
        data file.
    InputError
        The folder of ``output`` does not exist.
    """
    from tsmaker.formats.plots import ProductContent, draw_overview, save_png

    with using_registry(registry) as opened:
        product = opened.get_product(reference)
    path = data_path(product, purpose="plotted")
    target = Path(output) if output is not None else path.parent / f"{path.stem}.png"
    if not target.parent.is_dir():
        raise InputError(
            f"output folder {str(target.parent)!r} does not exist; create it or choose "
            "another --output path"
        )
    content = ProductContent.read(product, path)
    return save_png(draw_overview(product, content, sky_of(product, content)), target)


def sky_of(product: ProductRecord, content: ProductContent) -> Sky:
    """The spec-z the run could match (its own cleaning and cuts), flagged matched or not.

    The spec-z file is read again and cleaned with the product's own cuts, so that
    "unmatched" means a spec-z the run could have matched.
    """
    import numpy as np

    from tsmaker.formats.plots import Sky
    from tsmaker.formats.tables import read_table
    from tsmaker.inputs.cleaning import clean_redshift_catalog
    from tsmaker.inputs.redshift import RedshiftCatalog

    redshift = product.inputs.get("redshift", {})
    location, roles = redshift.get("location"), dict(redshift.get("columns", {}))
    if not location or not {"ra", "dec"} <= set(roles):
        return Sky(problem="the product does not record its spec-z file and columns")
    key_column = content.columns["key"]
    if key_column is None:
        return Sky(problem=f"the product has no spec-z key column {roles.get('id')!r}")
    parameters = product.parameters
    try:
        frame = read_table(Path(location))
        # Roles name the product's columns; a clash may have renamed them with _specz.
        file_roles = {}
        for role, name in roles.items():
            found = file_column(name, list(frame.columns))
            if found is None:
                raise InputError(
                    f"column {name!r} of the product is not in the spec-z file (columns: "
                    f"{', '.join(map(str, frame.columns))}); the file may have changed"
                )
            file_roles[role] = found
        catalog = clean_redshift_catalog(
            RedshiftCatalog(frame=frame, roles=file_roles,
                            units=dict(frame.attrs.get("units", {}))),
            source=str(location),
            coord_unit=parameters.get("coord_unit") or "auto",
            z_min=parameters.get("z_min"),
            z_max=parameters.get("z_max"),
            where=parameters.get("where"),
            drop_sentinels=not parameters.get("keep_sentinels", False),
        )
    except InputError as error:
        return Sky(problem=f"spec-z file unusable: {error}")
    cleaned = catalog.frame
    file_key = file_roles["id"] if "id" in roles else SPECZ_ROW_COLUMN
    product_keys = _decoded(content.frame[key_column].dropna()).unique()
    matched = _decoded(cleaned[file_key]).isin(product_keys).to_numpy()
    ra = cleaned[file_roles["ra"]].to_numpy(dtype=np.float64)
    dec = cleaned[file_roles["dec"]].to_numpy(dtype=np.float64)
    return Sky(ra=ra, dec=dec, matched=matched)


def _decoded(keys: pd.Series) -> pd.Series:
    """Keys with bytes decoded: FITS files give bytes where other formats give str."""
    if keys.dtype == object and len(keys) and isinstance(keys.iloc[0], bytes):
        return keys.str.decode("utf-8")
    return keys
