"""The catalogs page: registered and built-in catalogs, dust maps, and adding catalogs.

A redshift catalog is added in two steps: its file is uploaded (stored under a name
the server chooses, refused unless it is a readable table), then the detected RA, Dec,
z, error, flag and id columns are shown for confirmation or correction before it is
registered. An object catalog is added by its path on the server or its URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from tsmaker.errors import InputError, RegistryError, TsmakerError
from tsmaker.inputs.builtin import BUILTIN_CATALOGS
from tsmaker.inputs.profiles import PROFILES
from tsmaker.inputs.redshift import REQUIRED_ROLES, ROLE_PARAMETERS, ROLES
from tsmaker.web.deps import ConfigDependency, RegistryDependency
from tsmaker.web.rendering import message_for, templates
from tsmaker.web.uploads import inspect_upload, save_upload, upload_path

if TYPE_CHECKING:
    from tsmaker.registry import Registry
    from tsmaker.web.config import ServerConfig

router = APIRouter(include_in_schema=False)
PARAMETER_ROLES = {parameter: role for role, parameter in ROLE_PARAMETERS.items()}


def catalogs_page(request: Request, registry: Registry, config: ServerConfig, *,
                  errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                  notice: str | None = None, status: int = 200) -> Response:
    """The catalogs page, with the problems of a form that did not work."""
    from tsmaker.manage.catalogs import list_catalogs
    from tsmaker.science.dust_maps import dust_status

    return templates.TemplateResponse(request, "catalogs.html", {
        "catalogs": list_catalogs(registry), "dust": dust_status(), "errors": errors or {},
        "values": values or {}, "notice": notice, "profiles": list(PROFILES),
        "max_upload_bytes": config.max_upload_bytes,
    }, status_code=status)


def _placed(error: TsmakerError, default: str) -> tuple[str, str]:
    """The form field an error belongs beside, and its message."""
    field = PARAMETER_ROLES.get(error.parameter or "", error.parameter or default)
    return field, message_for(error, "cli")


@router.get("/catalogs")
def catalogs(request: Request, registry: RegistryDependency, config: ConfigDependency,
             added: str | None = None, removed: str | None = None) -> Response:
    """Catalogs with reachability, dust maps, and the forms that add catalogs."""
    notice = (f"Registered catalog {added!r}." if added else
              f"Removed catalog {removed!r}." if removed else None)
    return catalogs_page(request, registry, config, notice=notice)


@router.post("/catalogs/object")
def add_object(request: Request, registry: RegistryDependency, config: ConfigDependency,
               name: Annotated[str, Form()] = "", location: Annotated[str, Form()] = "",
               profile: Annotated[str, Form()] = "generic",
               description: Annotated[str, Form()] = "") -> Response:
    """Register an object catalog by path or URL."""
    from tsmaker.manage.catalogs import add_object_catalog

    values = {"object_name": name, "location": location, "profile": profile,
              "object_description": description}
    try:
        add_object_catalog(name.strip(), location.strip(), profile=profile,
                           description=description, registry=registry)
    except RegistryError:
        raise
    except TsmakerError as error:
        field, message = _placed(error, "location")
        field = {"name": "object_name"}.get(field, field)
        return catalogs_page(request, registry, config, errors={field: message},
                             values=values, status=422)
    return RedirectResponse(f"/catalogs?{urlencode({'added': name.strip()})}",
                            status_code=303)


@router.post("/catalogs/upload")
def upload(request: Request, registry: RegistryDependency, config: ConfigDependency,
           file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Store an uploaded redshift file and show its detected columns for confirmation."""
    client_name = (file.filename if file is not None else "") or ""
    try:
        if file is None or not client_name:
            raise InputError("choose a file to upload (Parquet, CSV, FITS or HDF5)")
        path = save_upload(file.file, client_name, config.uploads_dir)
        inspected = inspect_upload(path, client_name)
    except TsmakerError as error:
        return catalogs_page(request, registry, config, errors={"file": str(error)},
                             status=422)
    return confirm_page(request, path.name, client_name, inspected, {
        "name": Path(client_name).name.split(".")[0], "description": "",
        **{role: column or "" for role, column in inspected["detected"].items()},
    }, inspected["problems"])


def confirm_page(request: Request, upload_id: str, client_name: str,
                 inspected: dict[str, Any], values: dict[str, str],
                 errors: dict[str, str], status: int = 200) -> Response:
    """The uploaded file's columns, each role's column to confirm, and the catalog's name."""
    return templates.TemplateResponse(request, "upload_confirm.html", {
        "upload_id": upload_id, "filename": client_name, "inspected": inspected,
        "values": values, "errors": errors, "roles": ROLES, "required": REQUIRED_ROLES,
    }, status_code=status)


@router.get("/catalogs/uploads/{upload_id}")
def show_upload(upload_id: str, request: Request, config: ConfigDependency,
                filename: str = "") -> Response:
    """The confirmation step again (its header is read again, not its rows)."""
    from tsmaker.manage.catalogs import inspect_redshift_file

    path = upload_path(config.uploads_dir, upload_id)
    inspected = inspect_redshift_file(path, read_rows=False)
    values = {role: column or "" for role, column in inspected["detected"].items()}
    return confirm_page(request, upload_id, filename or upload_id, inspected,
                        {"name": "", "description": "", **values}, inspected["problems"])


@router.post("/catalogs/uploads/{upload_id}")
async def register_upload(upload_id: str, request: Request, registry: RegistryDependency,
                          config: ConfigDependency) -> Response:
    """Register the uploaded file with the columns confirmed, or discard it."""
    from starlette.concurrency import run_in_threadpool

    submitted = {key: str(value) for key, value in (await request.form()).items()}
    return await run_in_threadpool(_register, upload_id, request, registry, config, submitted)


def _register(upload_id: str, request: Request, registry: Registry, config: ServerConfig,
              submitted: dict[str, str]) -> Response:
    from tsmaker import atomic
    from tsmaker.manage.catalogs import add_redshift_catalog, inspect_redshift_file

    path = upload_path(config.uploads_dir, upload_id)
    if submitted.get("action") == "discard":
        atomic.remove(path)
        return RedirectResponse("/catalogs", status_code=303)
    name = submitted.get("name", "").strip()
    overrides = {role: submitted.get(role) or None for role in ROLES}
    try:
        add_redshift_catalog(name, path, overrides, description=submitted.get("description", ""),
                             detect=False, registry=registry)
    except RegistryError:
        raise
    except TsmakerError as error:
        field, message = _placed(error, "name")
        inspected = inspect_redshift_file(path, read_rows=False)
        values = {key: submitted.get(key, "") for key in ("name", "description", *ROLES)}
        return confirm_page(request, upload_id, submitted.get("filename", upload_id), inspected,
                            values, {field: message}, status=422)
    return RedirectResponse(f"/catalogs?{urlencode({'added': name})}", status_code=303)


@router.get("/catalogs/{ref}/remove")
def confirm_remove(ref: str, request: Request, registry: RegistryDependency) -> Response:
    """Ask before forgetting a catalog."""
    record = registry.find_catalog(ref)
    if record is None:
        raise HTTPException(404, f"There is no registered catalog {ref!r}.")
    return templates.TemplateResponse(request, "confirm_remove.html", {"catalog": record})


@router.post("/catalogs/{ref}/remove")
def remove(ref: str, registry: RegistryDependency) -> RedirectResponse:
    """Forget a registered catalog (an uploaded file goes a day later)."""
    from tsmaker.manage.catalogs import remove_catalog

    if ref in BUILTIN_CATALOGS and registry.find_catalog(ref) is None:
        raise InputError(f"catalog {ref!r} is built in and not registered; nothing to remove")
    record = remove_catalog(ref, registry)
    return RedirectResponse(f"/catalogs?{urlencode({'removed': record['name']})}",
                            status_code=303)
