"""The pages: products, one product, the "New training set" form, and the login.

Forms post back to the server; an invalid form is shown again, with its values and
each problem beside its field (named as the command line names it), and nothing is
registered. A form that worked redirects (303) to the page of what it made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from tsmaker.errors import ParameterError, TsmakerError
from tsmaker.parameters import RunParameters
from tsmaker.registry import ProductRecord
from tsmaker.web import actions, forms
from tsmaker.web.deps import ConfigDependency, JobsDependency, RegistryDependency
from tsmaker.web.rendering import file_entries, is_active, message_for, templates
from tsmaker.web.security import SESSION_COOKIE, session_value

if TYPE_CHECKING:
    from tsmaker.registry import Registry
    from tsmaker.web.jobs import JobManager

router = APIRouter(include_in_schema=False)


def known_product(product_id: int, registry: RegistryDependency) -> ProductRecord:
    """A product by id, or a 404 page."""
    product = registry.find_product(product_id)
    if product is None:
        raise HTTPException(404, f"There is no product {product_id}: it was never made, or "
                            "it was removed.")
    return product


@router.get("/")
def home() -> RedirectResponse:
    """The products list is the home page."""
    return RedirectResponse("/products", status_code=303)


@router.get("/products")
def products(request: Request, registry: RegistryDependency, jobs: JobsDependency) -> Response:
    """Every product, newest first; queued and running ones update live."""
    from tsmaker.manage.products import list_products

    listed = list_products(registry)
    return templates.TemplateResponse(request, "products.html", {
        "products": listed, "queue": jobs.state()["queued"],
        "live": any(is_active(product) for product in listed),
    })


@router.get("/products/{product_id}")
def product_page(product_id: int, request: Request, registry: RegistryDependency,
                 jobs: JobsDependency) -> Response:
    """Parameters, summary, provenance, the plot, downloads; run again, cancel, delete."""
    from tsmaker.run.reaping import reap_interrupted_products

    reap_interrupted_products(registry)
    product = known_product(product_id, registry)
    queue = jobs.state()["queued"]
    return templates.TemplateResponse(request, "product.html", {
        "product": product, "files": file_entries(product) if product.status == "done" else [],
        "active": is_active(product), "queue": queue,
        "queue_position": queue.index(product.id) + 1 if product.id in queue else None,
    })


@router.get("/products/{product_id}/delete")
def confirm_delete(product_id: int, request: Request, registry: RegistryDependency) -> Response:
    """Ask before deleting a product and its files."""
    product = known_product(product_id, registry)
    return templates.TemplateResponse(request, "confirm_delete.html", {
        "product": product, "files": file_entries(product)})


@router.post("/products/{product_id}/delete")
def delete(product_id: int, registry: RegistryDependency, jobs: JobsDependency,
           config: ConfigDependency) -> RedirectResponse:
    """Delete a product and its files (a queued or running one is stopped first)."""
    actions.delete_product(known_product(product_id, registry), registry, jobs, config)
    return RedirectResponse("/products", status_code=303)


@router.post("/products/{product_id}/cancel")
def cancel(product_id: int, registry: RegistryDependency, jobs: JobsDependency
           ) -> RedirectResponse:
    """Stop a queued or running product; it stays listed, cancelled."""
    actions.cancel_run(known_product(product_id, registry), registry, jobs)
    return RedirectResponse(f"/products/{product_id}", status_code=303)


# ------------------------------------------------------------------ the run form


@router.get("/runs/new")
def new_run(request: Request, registry: RegistryDependency, like: int | None = None
            ) -> Response:
    """The form, with the defaults, or the parameters of product ``like`` (run again)."""
    values: dict[str, Any] = forms.defaults()
    if like is not None:
        values.update(known_product(like, registry).parameters)
    else:
        values.update(forms.default_catalogs(registry))
    return run_form(request, registry, forms.form_text(values), {}, like=like)


@router.post("/runs")
async def submit(request: Request, registry: RegistryDependency, jobs: JobsDependency
                 ) -> Response:
    """Check the form and queue the run, or show the form again with its problems."""
    from starlette.concurrency import run_in_threadpool

    submitted = {key: str(value) for key, value in (await request.form()).items()}
    like = submitted.get("like", "")
    return await run_in_threadpool(_submit, request, registry, jobs, submitted,
                                   int(like) if like.isdigit() else None)


def _submit(request: Request, registry: Registry, jobs: JobManager, submitted: dict[str, str],
            like: int | None) -> Response:
    from tsmaker.run.preflight import preflight_run
    from tsmaker.run.rerun import EarlierProduct

    values, problems = forms.parse_form(submitted)
    stored, earlier = None, None
    if like is not None:  # the form shows the earlier run's values; it keeps the others
        earlier = EarlierProduct.of(
            known_product(like, registry),
            accept_changed_inputs=bool(submitted.get("accept_changed_inputs")))
        stored = {key: value for key, value in earlier.parameters.items()
                  if key not in forms.FORM_FIELDS}
    parameters: RunParameters | None = None
    try:
        parameters = RunParameters.from_sources(values, like=stored)
    except ParameterError as error:
        problems.setdefault(error.parameter, error)
    if parameters is not None and not problems:
        try:
            product = actions.submit_checked(parameters, registry, jobs, earlier)
            return RedirectResponse(f"/products/{product.id}", status_code=303)
        except actions.RunRefused as refused:
            problems = dict(refused.found.problems)
    elif parameters is not None:  # the text of some fields is no value: check the others
        problems = {**preflight_run(parameters, registry).problems, **problems}
    shown = {name: submitted.get(name, "") for name in forms.FORM_FIELDS}
    shown["magnitudes"] = submitted.get("magnitudes") or "mag"
    shown["accept_changed_inputs"] = submitted.get("accept_changed_inputs", "")
    return run_form(request, registry, shown, problems, like=like, status=422)


def run_form(request: Request, registry: Registry, values: dict[str, str],
             problems: dict[str, TsmakerError], *, like: int | None = None,
             status: int = 200) -> Response:
    """The form page, with its values and each problem beside its field."""
    shown = {name or "run": message_for(error, "cli") for name, error in problems.items()}
    options = forms.form_options(registry, values.get("object_catalog", ""))
    advanced = set(forms.ADVANCED_FIELDS)
    return templates.TemplateResponse(request, "run_form.html", {
        "values": values, "errors": shown, "options": options, "like": like,
        "open_advanced": any(name in advanced for name in shown) or forms.advanced_changed(
            values),
        "unplaced": {name: text for name, text in shown.items()
                     if name not in forms.FORM_FIELDS},
    }, status_code=status)


# ------------------------------------------------------------------ login


@router.get("/login")
def login_page(request: Request, next: str = "/products") -> Response:  # noqa: A002
    """Ask for the token (only when the server has one)."""
    return templates.TemplateResponse(request, "login.html", {"next": _local(next),
                                                              "error": None})


@router.post("/login")
def login(request: Request, config: ConfigDependency, token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/products") -> Response:  # noqa: A002
    """Check the token; keep the session in a cookie and go on to the page asked for."""
    import hmac

    if config.token is None or hmac.compare_digest(token.strip(), config.token):
        response = RedirectResponse(_local(next), status_code=303)
        if config.token is not None:
            response.set_cookie(SESSION_COOKIE, session_value(config.token), httponly=True,
                                samesite="strict")
        return response
    return templates.TemplateResponse(request, "login.html", {
        "next": _local(next), "error": "That is not this server's token."}, status_code=401)


def _local(target: str) -> str:
    """``target`` if it is a path on this server, else the products page (no open redirect).

    Examples
    --------
    >>> _local("/products/3"), _local("https://evil.example/"), _local("//evil.example")
    ('/products/3', '/products', '/products')
    """
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/products"
    return target
