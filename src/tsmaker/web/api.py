"""The JSON API under ``/api``: catalogs, runs, products, dust maps.

Errors answer ``{"detail": "<one line>"}`` with 404 (unknown product or catalog), 409
(a product in the wrong state), 413 (upload too large), 422 (bad input; a refused run
also lists ``problems`` by parameter) or 401 (missing token). Messages name run
parameters by their Python keyword, as the JSON does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.background import BackgroundTask

from tsmaker.errors import ProductError
from tsmaker.inputs.builtin import BUILTIN_CATALOGS
from tsmaker.parameters import RunParameters
from tsmaker.registry import ProductRecord
from tsmaker.web import actions
from tsmaker.web.config import ServerConfig
from tsmaker.web.deps import ConfigDependency, JobsDependency, RegistryDependency
from tsmaker.web.models import ObjectCatalogRequest, RunRequest
from tsmaker.web.rendering import MEDIA_TYPES, finite, message_for, product_json

if TYPE_CHECKING:
    from tsmaker.run.rerun import EarlierProduct

router = APIRouter(prefix="/api")


def known_product(product_id: int, registry: RegistryDependency) -> ProductRecord:
    """A product by id, or 404."""
    product = registry.find_product(product_id)
    if product is None:
        raise HTTPException(404, f"unknown product id {product_id}; see GET /api/products")
    return product


def known_catalog(ref: str, registry: RegistryDependency) -> str:
    """A catalog reference that names a registered or built-in catalog, or 404."""
    if registry.find_catalog(ref) is None and ref not in BUILTIN_CATALOGS:
        raise HTTPException(404, f"unknown catalog {ref!r}; see GET /api/catalogs")
    return ref


# ------------------------------------------------------------------ catalogs


@router.get("/catalogs", tags=["catalogs"])
def list_catalogs(registry: RegistryDependency) -> list[dict[str, Any]]:
    """Registered and built-in catalogs, with whether each is reachable now."""
    from tsmaker.manage.catalogs import list_catalogs

    return finite(list_catalogs(registry))


@router.get("/catalogs/{ref}", tags=["catalogs"])
def show_catalog(ref: str, registry: RegistryDependency) -> dict[str, Any]:
    """One catalog: its record, profile, extinction coefficients and flux types."""
    from tsmaker.manage.catalogs import show_catalog

    return finite(show_catalog(known_catalog(ref, registry), registry))


@router.get("/catalogs/{ref}/flux-types", tags=["catalogs"])
def flux_types(ref: str, registry: RegistryDependency) -> dict[str, list[str]]:
    """Flux types in an object catalog's schema, each with its bands."""
    from tsmaker.manage.catalogs import flux_types

    return flux_types(known_catalog(ref, registry), registry)


@router.post("/catalogs/object", tags=["catalogs"], status_code=201)
def add_object_catalog(body: ObjectCatalogRequest, registry: RegistryDependency
                       ) -> dict[str, Any]:
    """Register a HATS object catalog or collection (a path on the server, or a URL)."""
    from tsmaker.manage.catalogs import add_object_catalog

    return finite(add_object_catalog(body.name, body.location, profile=body.profile,
                                     description=body.description, registry=registry))


@router.post("/catalogs/redshift", tags=["catalogs"], status_code=201)
def add_redshift_catalog(
    config: ConfigDependency,
    registry: RegistryDependency,
    file: Annotated[UploadFile, File(description="Parquet, CSV, FITS or HDF5 file.")],
    name: Annotated[str, Form(description="Name to register.")],
    description: Annotated[str, Form()] = "",
    ra: Annotated[str, Form(description="RA column; detected when empty.")] = "",
    dec: Annotated[str, Form()] = "", z: Annotated[str, Form()] = "",
    z_err: Annotated[str, Form()] = "", z_flag: Annotated[str, Form()] = "",
    id: Annotated[str, Form()] = "",  # noqa: A002 - the role's name
) -> dict[str, Any]:
    """Upload a redshift catalog and register it; its columns are detected unless named."""
    from tsmaker.manage.catalogs import add_redshift_catalog
    from tsmaker.web.uploads import inspect_upload, save_upload

    client_name = file.filename or "upload"
    path = save_upload(file.file, client_name, config.uploads_dir)
    inspect_upload(path, client_name)
    overrides = {"ra": ra, "dec": dec, "z": z, "z_err": z_err, "z_flag": z_flag, "id": id}
    try:
        record = add_redshift_catalog(name, path, {k: v or None for k, v in overrides.items()},
                                      description=description, registry=registry)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return finite(record)


@router.delete("/catalogs/{ref}", tags=["catalogs"])
def remove_catalog(ref: str, registry: RegistryDependency) -> dict[str, Any]:
    """Forget a registered catalog (a file uploaded for it is deleted later)."""
    from tsmaker.manage.catalogs import remove_catalog

    return finite(remove_catalog(known_catalog(ref, registry), registry))


# ------------------------------------------------------------------ runs


@router.post("/runs", tags=["runs"], status_code=202)
def submit_run(body: RunRequest, registry: RegistryDependency,  # type: ignore[valid-type]
               jobs: JobsDependency) -> JSONResponse:
    """Check a run and queue it: 202 with the product (``id``, ``status`` queued) at once.

    A run that cannot start answers 422 with every problem by parameter, and nothing
    is registered. Poll ``GET /api/products/{id}`` for its status and progress.
    """
    parameters, earlier = run_parameters(body, registry)
    try:
        product = actions.submit_checked(parameters, registry, jobs, earlier)
    except actions.RunRefused as refused:
        problems = {name or "run": message_for(error, "python")
                    for name, error in refused.found.problems.items()}
        return JSONResponse({"detail": next(iter(problems.values())), "problems": problems},
                            status_code=422)
    return JSONResponse(product_json(product, jobs.state()["queued"]), status_code=202,
                        headers={"Location": f"/api/products/{product.id}"})


@router.post("/runs/check", tags=["runs"])
def check_run(body: RunRequest, registry: RegistryDependency  # type: ignore[valid-type]
              ) -> JSONResponse:
    """Check a run without submitting it: its problems by parameter, or what it would use."""
    from tsmaker.run.preflight import preflight_run

    found = preflight_run(run_parameters(body, registry)[0], registry)
    problems = {name or "run": message_for(error, "python")
                for name, error in found.problems.items()}
    return JSONResponse({"ok": found.ok, "problems": problems, "notices": found.notices,
                         "flux_type": found.flux_type, "bands": list(found.bands),
                         "redshift_columns": found.redshift_columns},
                        status_code=200 if found.ok else 422)


def run_parameters(body: BaseModel, registry: RegistryDependency
                   ) -> tuple[RunParameters, EarlierProduct | None]:
    """The run a request body asks for: its keywords over those of product ``like``.

    Also the product a rerun starts from (None without ``like``), whose inputs the
    job compares with today's.
    """
    from tsmaker.run.rerun import EarlierProduct

    given = body.model_dump(exclude_none=True)
    like = given.pop("like", None)
    accept_changed_inputs = bool(given.pop("accept_changed_inputs", False))
    if like is None:
        if accept_changed_inputs:
            raise HTTPException(422, "accept_changed_inputs applies to a rerun; give like "
                                "(the product to start from) or leave it out")
        return RunParameters.from_sources(given), None
    product = registry.find_product(like)
    if product is None:
        raise HTTPException(422, f"like {like!r}: no such product; see GET /api/products")
    earlier = EarlierProduct.of(product, accept_changed_inputs=accept_changed_inputs)
    return RunParameters.from_sources(given, like=earlier.parameters), earlier


# ------------------------------------------------------------------ products


@router.get("/products", tags=["products"])
def list_products(registry: RegistryDependency, jobs: JobsDependency) -> list[dict[str, Any]]:
    """Every product, newest first, with status and progress."""
    from tsmaker.manage.products import list_products

    queue = jobs.state()["queued"]
    return [product_json(product, queue) for product in list_products(registry)]


@router.get("/products/{product_id}", tags=["products"])
def show_product(product_id: int, registry: RegistryDependency, jobs: JobsDependency
                 ) -> dict[str, Any]:
    """One product: parameters, inputs, versions, summary, status and progress."""
    from tsmaker.run.reaping import reap_interrupted_products

    reap_interrupted_products(registry)
    return product_json(known_product(product_id, registry), jobs.state()["queued"])


@router.get("/products/{product_id}/progress", tags=["products"])
def product_progress(product_id: int, registry: RegistryDependency) -> dict[str, Any]:
    """Status and progress only (step, partitions done of the total, rows so far)."""
    product = known_product(product_id, registry)
    return finite({"id": product.id, "status": product.status, "message": product.message,
                   "progress": product.summary.get("progress")})


@router.get("/products/{product_id}/download", tags=["products"])
def download(product_id: int, config: ConfigDependency, registry: RegistryDependency
             ) -> Response:
    """The data file (a HATS product comes as a zip of its folder)."""
    from tsmaker.manage.products import data_path

    path = data_path(known_product(product_id, registry), purpose="downloaded")
    return file_response(path, config)


@router.get("/products/{product_id}/files/{index}", tags=["products"])
def download_file(product_id: int, index: int, config: ConfigDependency,
                  registry: RegistryDependency) -> Response:
    """One of the product's files by its place in ``files`` (0: data, 1: JSON sidecar)."""
    from tsmaker.manage.products import data_path

    product = known_product(product_id, registry)
    data_path(product, purpose="downloaded")  # done, with its data file present
    if not 0 <= index < len(product.files):
        raise HTTPException(404, f"product {product.full_name} has {len(product.files)} "
                            f"files; index {index} is not one of them")
    path = Path(product.files[index])
    if not path.exists():
        raise ProductError(f"file {path.name!r} of product {product.full_name} is missing; "
                           "it was moved or deleted")
    return file_response(path, config)


@router.get("/products/{product_id}/plot", tags=["products"],
            response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
def plot(product_id: int, config: ConfigDependency, registry: RegistryDependency) -> Response:
    """The overview plot (PNG): redshifts, magnitudes, match distances, the sky."""
    from tsmaker.manage.products import plot_product

    product = known_product(product_id, registry)
    cached = config.plots_dir / f"{product.id}.png"
    if not cached.exists():
        plot_product(product.id, cached, registry)
    return FileResponse(cached, media_type="image/png")


@router.delete("/products/{product_id}", tags=["products"])
def delete_product(product_id: int, config: ConfigDependency, registry: RegistryDependency,
                   jobs: JobsDependency) -> dict[str, Any]:
    """Remove a product and its files; a queued or running one is stopped first."""
    removed = actions.delete_product(known_product(product_id, registry), registry, jobs,
                                     config)
    return finite(removed.to_dict())


@router.post("/products/{product_id}/cancel", tags=["products"])
def cancel(product_id: int, registry: RegistryDependency, jobs: JobsDependency
           ) -> dict[str, Any]:
    """Stop a queued or running product; it is kept, marked cancelled, with no files."""
    return product_json(actions.cancel_run(known_product(product_id, registry), registry,
                                           jobs))


# ------------------------------------------------------------------ dust, server


@router.get("/dust", tags=["dust"])
def dust_status() -> list[dict[str, Any]]:
    """Each dust map: found or not, where, and how to get it."""
    from tsmaker.science.dust_maps import dust_status

    return [{"map": location.name, "found": location.found,
             "directory": str(location.directory) if location.directory else None,
             "size_bytes": location.size_bytes,
             "searched": [f"{label}: {folder}" for label, folder in location.searched],
             "hint": None if location.found else f"tsmaker dust fetch {location.name}"}
            for location in dust_status()]


@router.get("/server", tags=["server"])
def server(config: ConfigDependency, jobs: JobsDependency) -> dict[str, Any]:
    """The server: version, runs at once, runs running and queued, upload limit."""
    from tsmaker import __version__

    return {"version": __version__, **jobs.state(),
            "max_upload_bytes": config.max_upload_bytes, "token_required": bool(config.token)}


def file_response(path: Path, config: ServerConfig) -> Response:
    """A file to download; a folder (HATS) as a zip made for this download."""
    if path.is_dir():
        zipped = zip_folder(path, config.server_dir)
        return FileResponse(zipped, filename=f"{path.name}.zip", media_type="application/zip",
                            background=BackgroundTask(zipped.unlink, missing_ok=True))
    return FileResponse(path, filename=path.name,
                        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"))


def zip_folder(folder: Path, scratch: Path) -> Path:
    """A zip of ``folder`` (stored, not compressed: Parquet already is) in ``scratch``."""
    import secrets
    import zipfile

    target = scratch / f".download-{secrets.token_hex(8)}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for item in sorted(folder.rglob("*")):
            if item.is_file():
                archive.write(item, Path(folder.name) / item.relative_to(folder))
    return target
