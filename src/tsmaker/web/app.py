"""The web application: pages and an HTTP API over the registry the command line uses.

:func:`create_app` builds it for a :class:`tsmaker.web.config.ServerConfig`. At start
it finishes what a killed server or run left (:mod:`tsmaker.run.reaping`: no product
stays marked running), deletes stale uploads, and starts the job manager; at stop it
stops the runs (:meth:`tsmaker.web.jobs.JobManager.shutdown`). Routes live in
:mod:`tsmaker.web.api` (JSON), :mod:`tsmaker.web.pages` and
:mod:`tsmaker.web.catalog_pages` (HTML); each parses, calls the library and renders.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from tsmaker import __version__
from tsmaker.errors import TsmakerError
from tsmaker.registry import Registry
from tsmaker.web.config import ServerConfig
from tsmaker.web.jobs import JobManager
from tsmaker.web.rendering import message_for, status_for, templates
from tsmaker.web.security import LOOPBACK_NAMES, BodyLimit, RequestGuard, TokenGuard


def create_app(config: ServerConfig) -> FastAPI:
    """The application for one server: middleware, routes, static files, API docs.

    Parameters
    ----------
    config : ServerConfig
        Where the registry is, how many runs at once, the token, the upload limit.
    """
    from tsmaker.web import api, catalog_pages, pages

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(_prepare, config)
        jobs = JobManager(config.registry_path, config.logs_dir, max_jobs=config.jobs)
        jobs.start()
        app.state.jobs = jobs
        try:
            yield
        finally:
            await asyncio.to_thread(jobs.shutdown)

    app = FastAPI(
        title="tsmaker", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
        description="Training Set Maker: spec-z catalogs crossmatched with LSST Object "
        "photometry. Runs take the keywords of `tsmaker.make_training_set`.",
    )
    app.state.config = config
    app.state.jobs = None
    app.add_middleware(BodyLimit, limit_bytes=config.max_upload_bytes)
    app.add_middleware(TokenGuard, token=config.token)
    # Without a token only loopback names reach the server (DNS rebinding); with one, the
    # token guards it, and the Host is whatever name the users browse to.
    allowed = None if config.token else (*LOOPBACK_NAMES, config.host)
    app.add_middleware(RequestGuard, allowed_hosts=allowed)  # added last: runs first

    app.mount("/static", StaticFiles(packages=[("tsmaker.web", "static")]), name="static")
    app.mount("/static-docs", StaticFiles(directory=_swagger_files()), name="static-docs")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(catalog_pages.router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="tsmaker API",
            swagger_js_url="/static-docs/swagger-ui-bundle.js",
            swagger_css_url="/static-docs/swagger-ui.css",
            swagger_favicon_url="/static-docs/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # never asks validator.swagger.io
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.exception_handler(TsmakerError)
    def domain_error(request: Request, error: TsmakerError) -> Response:
        return error_response(request, status_for(error), error)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, error: HTTPException) -> Response:
        return error_response(request, error.status_code, error.detail, error.headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = [{"loc": list(item["loc"]), "msg": item["msg"]} for item in error.errors()]
        if _wants_json(request):
            return JSONResponse({"detail": problems}, status_code=422)
        text = "; ".join(f"{'.'.join(map(str, p['loc'][1:]))}: {p['msg']}" for p in problems)
        return error_response(request, 422, text)

    return app


def error_response(request: Request, status: int, error: TsmakerError | object,
                   headers: dict[str, str] | None = None) -> Response:
    """An error as JSON for the API (``{"detail": ...}``), as a page for a browser."""
    if isinstance(error, TsmakerError):
        naming = "python" if _wants_json(request) else "cli"
        detail: object = message_for(error, naming)
    else:
        detail = error
    if _wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    return templates.TemplateResponse(request, "error.html", {"status": status,
                                                              "message": detail},
                                      status_code=status, headers=headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def _prepare(config: ServerConfig) -> None:
    """Finish what a killed server left, and clear what is no longer needed."""
    from tsmaker import atomic
    from tsmaker.run.reaping import reap_interrupted_products
    from tsmaker.web.uploads import clean_stale_uploads

    for folder in (config.uploads_dir, config.logs_dir, config.plots_dir):
        folder.mkdir(parents=True, exist_ok=True)
    with Registry(config.registry_path) as registry:
        reap_interrupted_products(registry)
        clean_stale_uploads(config.uploads_dir, registry)
        known = {str(product.id) for product in registry.list_products()}
    for plot in config.plots_dir.glob("*.png"):
        if plot.stem not in known:  # its product was removed from the command line
            atomic.remove(plot)


def _swagger_files() -> Path:
    """Swagger UI's files, served by this server (the API docs work offline)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"
