"""The products the registry holds: list, show, locate, read, plot and remove them.

Each function takes an open registry (or opens the default one). Listing and showing
first reap the products whose process died (:mod:`tsmaker.run.reaping`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker import atomic
from tsmaker.columns import SPECZ_ROW_COLUMN, file_column
from tsmaker.errors import InputError, ProductError
from tsmaker.registry import using_registry
from tsmaker.registry.records import ACTIVE_STATUSES
from tsmaker.run.reaping import reap_interrupted_products

if TYPE_CHECKING:
    import pandas as pd

    from tsmaker.formats.plot_content import ProductContent, Sky
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
        reason = (f" ({product.message})" if product.message
                  and product.message != product.status else "")
        advice = ("wait for it to finish" if product.status in ACTIVE_STATUSES
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
    """Remove a product: its record is marked first, then its files go, then the record.

    A queued or running product is refused unless ``force``, which also stops its run.
    A removal cut short (a folder that refuses the deletion) leaves the product marked
    ``removing``; the next ``products rm`` (or any command, :mod:`tsmaker.run.reaping`)
    finishes it.

    Returns
    -------
    ProductRecord
        The record as it was.

    Raises
    ------
    ProductError
        Queued or running without ``force``, or a file that cannot be deleted.
    """
    with using_registry(registry) as opened:
        product = opened.begin_removal(reference, force=force)
        if product.status == "running":  # a queued product's pid is its server's
            stop_run(product, wait_seconds=STOP_WAIT_SECONDS)
        delete_files(product)
        opened.delete_product(product.id)
        return product


def cancel_product(reference: str | int, registry: Registry | None = None) -> ProductRecord:
    """Cancel a queued or running product and stop its run; the record after it.

    Nothing the run writes reaches a final name (:meth:`Registry.finishing`).
    """
    with using_registry(registry) as opened:
        before = opened.cancel_product(reference)
        if before.status == "running":
            stop_run(before, wait_seconds=STOP_WAIT_SECONDS)
        return opened.get_product(before.id)


def delete_files(product: ProductRecord) -> None:
    """Delete a product's files and folders (those already gone are fine).

    Raises
    ------
    ProductError
        A file that cannot be deleted, named with the reason and what to do.
    """
    for name in product.files:
        path = Path(name)
        try:
            atomic.remove(path, strict=True)
        except OSError as error:
            raise ProductError(
                f"cannot delete {str(path)!r} of product {product.full_name} "
                f"({error.strerror or error}); it is marked 'removing': make its folder "
                f"writable and run `tsmaker products rm {product.full_name}` again"
            ) from None


#: How long removing or cancelling a running product waits for its process to stop.
STOP_WAIT_SECONDS = 10.0


def stop_run(product: ProductRecord, *, wait_seconds: float = 0.0) -> bool:
    """Send SIGTERM to the tsmaker process running ``product`` on this host; True if sent.

    Only a process that is a tsmaker command or job is signalled (a Python session
    that called ``make_training_set`` notices the cancellation itself, and a reused
    process id belongs to someone else). With ``wait_seconds``, wait that long at most
    for the process to end; once it has, the temporary files it may have left (a run
    killed while it cleaned up) are deleted, so nothing of the run remains.
    """
    import os
    import signal
    import socket
    import time

    if not product.pid or product.host != socket.gethostname() or product.pid == os.getpid():
        return False
    try:
        command = Path(f"/proc/{product.pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    if b"tsmaker" not in command:
        return False
    try:
        os.kill(product.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    deadline = time.monotonic() + wait_seconds
    while _process_running(product.pid):
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)
    for planned in (product.summary or {}).get("planned_files", []):
        for leftover in atomic.leftovers(Path(planned), product.pid):
            atomic.remove(leftover)
    return True


def _process_running(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def plot_product(
    reference: str | int, output: Path | None = None, registry: Registry | None = None
) -> Path:
    """Draw the overview PNG of a finished product (:mod:`tsmaker.formats.plots`).

    :func:`plot_product_figures` draws the same and also returns the numbers behind
    the coverage panels.

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
        ``output`` is a folder, its folder does not exist, or it cannot be written.
    """
    return Path(plot_product_figures(reference, output, registry)["png"])


def plot_product_figures(
    reference: str | int, output: Path | None = None, registry: Registry | None = None
) -> dict[str, Any]:
    """Draw the overview PNG (:func:`plot_product`); return its path and figures.

    Returns
    -------
    dict
        ``png`` (the path written), ``product`` (its full name) and ``coverage``: the
        numbers behind the coverage panels (:func:`tsmaker.formats.plots.coverage_figures`:
        coverage fractions, 50%-completeness magnitudes, the normalised magnitude
        distributions and the colour-colour coverage map), None for a product without
        them.

    Raises
    ------
    ProductError
        As :func:`plot_product`.
    InputError
        As :func:`plot_product`.
    """
    from tsmaker.formats.plot_content import ProductContent
    from tsmaker.formats.plots import coverage_figures, draw_overview, save_png

    with using_registry(registry) as opened:
        product = opened.get_product(reference)
    path = data_path(product, purpose="plotted")
    target = Path(output) if output is not None else path.parent / f"{path.stem}.png"
    if target.is_dir():
        raise InputError(
            f"plot file {str(target)!r} is a folder; give a file path, e.g. --output "
            f"{target / (path.stem + '.png')}"
        )
    if not target.parent.is_dir():
        raise InputError(
            f"output folder {str(target.parent)!r} does not exist; create it or choose "
            "another --output path"
        )
    content = ProductContent.read(product, path)
    figure = draw_overview(product, content, sky_of(product, content))
    try:
        written = save_png(figure, target)
    except OSError as error:
        raise InputError(
            f"plot file {str(target)!r} cannot be written ({error.strerror or error}); "
            "choose another --output path"
        ) from None
    return {"png": str(written), "product": product.full_name,
            "coverage": coverage_figures(product)}


def sky_of(product: ProductRecord, content: ProductContent) -> Sky:
    """The spec-z the run could match (its own cleaning and cuts), flagged matched or not.

    The spec-z file is read again and cleaned with the product's own cuts, so that
    "unmatched" means a spec-z the run could have matched.
    """
    import numpy as np

    from tsmaker.formats.plot_content import Sky
    from tsmaker.formats.tables import read_table
    from tsmaker.inputs.cleaning import clean_redshift_catalog
    from tsmaker.inputs.redshift import NO_COLUMN, RedshiftCatalog

    redshift = product.inputs.get("redshift", {})
    # The file's own names (a product made under --naming rail calls its redshift
    # "redshift"); older products record the product's names only.
    location = redshift.get("location")
    roles = {role: name for role, name in
             (redshift.get("file_columns") or redshift.get("columns", {})).items()
             if name != NO_COLUMN}
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
            crd_duplicates=parameters.get("crd_duplicates") or "keep-ties",
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
