"""The "New training set" form: its fields, what it offers, and its text turned into a run.

Fields are named after :class:`tsmaker.parameters.RunParameters`, so that each problem
the checks find (whose ``parameter`` is a field) is shown beside its input. The text
of each field becomes a value with :func:`parse_text`, as the command line's options
would, and with the same words when it is no value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import TYPE_CHECKING, Any

from tsmaker.errors import ParameterError, TsmakerError
from tsmaker.flags import (
    COORD_UNITS,
    CRD_DUPLICATE_CHOICES,
    DUST_CHOICES,
    FLAG_ORDER_CHOICES,
    HDF5_LAYOUTS,
    NAMING_CHOICES,
    OUTPUT_FORMATS,
    REQUIRED_FIELDS,
    UNIQUE_CHOICES,
    parameter_error,
    parse_extinction_coeffs,
    parse_number,
)
from tsmaker.parameters import RunParameters

if TYPE_CHECKING:
    from tsmaker.registry import Registry

MAIN_FIELDS: tuple[str, ...] = (
    "name", "description", "redshift_catalog", "object_catalog", "flux_type", "dust",
    "magnitudes", "zero_point", "radius_arcsec", "n_neighbors", "unique", "output_format",
    "naming",
)
ADVANCED_FIELDS: tuple[str, ...] = (
    "split_fraction", "seed", "z_min", "z_max", "where", "keep_sentinels", "z_flag_better",
    "coord_unit", "extinction_coeffs", "ra_column", "dec_column", "z_column", "z_err_column",
    "z_flag_column", "id_column", "crd_duplicates", "hdf5_layout", "hdf5_group",
)
FORM_FIELDS = MAIN_FIELDS + ADVANCED_FIELDS
#: Fields whose value is one of a few words, offered as a list.
CHOICES: dict[str, tuple[str, ...]] = {
    "output_format": OUTPUT_FORMATS, "unique": UNIQUE_CHOICES,
    "z_flag_better": FLAG_ORDER_CHOICES, "coord_unit": COORD_UNITS, "naming": NAMING_CHOICES,
    "crd_duplicates": CRD_DUPLICATE_CHOICES, "hdf5_layout": HDF5_LAYOUTS,
}


FLOAT_PARAMETERS: tuple[str, ...] = (
    "zero_point", "radius_arcsec", "split_fraction", "z_min", "z_max",
)
INTEGER_PARAMETERS: tuple[str, ...] = ("n_neighbors", "seed")
BOOLEAN_PARAMETERS: tuple[str, ...] = ("magnitudes", "keep_sentinels")


def parse_text(parameter: str, text: str) -> object:
    """A run parameter's value from text, as a web form or a query string gives it.

    Surrounding spaces are trimmed (a browser field's stray space is no part of a value).
    Numbers, whole numbers and yes/no values are converted by the parameter's type,
    extinction coefficients as ``u=4.81,g=3.64``; blank text is None (not given), except
    for the name and the catalogs, which stay "" so that :meth:`RunParameters.problems`
    says they are empty.

    Raises
    ------
    ParameterError
        Text that is not a value of the parameter's type.

    Examples
    --------
    >>> parse_text("radius_arcsec", " 2.5 "), parse_text("seed", ""), parse_text("magnitudes", "no")
    (2.5, None, False)
    >>> try:
    ...     parse_text("n_neighbors", "2.5")
    ... except ParameterError as error:
    ...     print(error.message("cli"))
    --neighbors '2.5' is not a whole number; use e.g. --neighbors 1
    """
    text = text.strip()
    if not text:
        return "" if parameter in REQUIRED_FIELDS else None
    if parameter in FLOAT_PARAMETERS or parameter in INTEGER_PARAMETERS:
        return parse_number(parameter, text, whole=parameter in INTEGER_PARAMETERS)
    if parameter in BOOLEAN_PARAMETERS:
        answer = text.lower()
        if answer in ("1", "true", "yes", "on"):
            return True
        if answer in ("0", "false", "no", "off"):
            return False
        raise parameter_error(parameter, f"{{name}} {text!r} is not one of: yes, no")
    if parameter == "extinction_coeffs":
        return parse_extinction_coeffs(text)
    return text


def defaults() -> dict[str, Any]:
    """Each field's default value (None where it has none)."""
    return {
        field.name: None if field.default is MISSING else field.default
        for field in fields(RunParameters)
        if field.default_factory is MISSING
    }


def parse_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, ParameterError]]:
    """The values a submitted form gives, and the fields whose text is not a value.

    ``magnitudes`` comes from a choice of ``mag`` or ``flux``; ``keep_sentinels`` from
    a checkbox (absent: no).
    """
    values: dict[str, Any] = {}
    problems: dict[str, ParameterError] = {}
    for name in FORM_FIELDS:
        text = str(form.get(name, ""))
        if name == "magnitudes":
            text = {"mag": "yes", "flux": "no"}.get(text, text)
        elif name == "keep_sentinels":
            text = "yes" if text else "no"
        try:
            values[name] = parse_text(name, text)
        except ParameterError as error:
            problems[name] = error
    return values, problems


def form_text(values: Mapping[str, Any]) -> dict[str, str]:
    """The text each field shows for values (a stored product's, or the defaults).

    Examples
    --------
    >>> text = form_text({"radius_arcsec": 1.0, "magnitudes": False, "z_min": None,
    ...                   "extinction_coeffs": {"u": 4.8, "g": 3.6}})
    >>> text["radius_arcsec"], text["magnitudes"], text["z_min"], text["extinction_coeffs"]
    ('1.0', 'flux', '', 'u=4.8,g=3.6')
    """
    shown: dict[str, str] = {}
    for name in FORM_FIELDS:
        value = values.get(name)
        if name == "magnitudes":
            shown[name] = "flux" if value is False else "mag"
        elif value is None:
            shown[name] = ""
        elif isinstance(value, bool):
            shown[name] = "on" if value else ""
        elif isinstance(value, dict):
            shown[name] = ",".join(f"{band}={coefficient}" for band, coefficient in value.items())
        else:
            shown[name] = str(value)
    return shown


def advanced_changed(shown: Mapping[str, str]) -> bool:
    """Whether a form's text sets an advanced field to other than its default.

    Such a form opens with its advanced fields unfolded, so nothing set is hidden.

    Examples
    --------
    >>> advanced_changed(form_text(defaults())), advanced_changed({"hdf5_group": "training"})
    (False, True)
    """
    default_text = form_text(defaults())
    return any(shown.get(name, "") not in ("", default_text[name]) for name in ADVANCED_FIELDS)


def default_catalogs(registry: Registry) -> dict[str, str]:
    """The catalogs a new form starts with: the first registered of each kind.

    The demo's only when no other is registered (the demo is generated on first use).
    """
    from tsmaker.demo.builtin import DEMO_OBJECT_NAME, DEMO_REDSHIFT_NAME

    chosen = {}
    for field, kind, demo in (("object_catalog", "object", DEMO_OBJECT_NAME),
                              ("redshift_catalog", "redshift", DEMO_REDSHIFT_NAME)):
        names = [record.name for record in registry.list_catalogs(kind=kind)]
        chosen[field] = next((name for name in names if name != demo), demo)
    return chosen


@dataclass
class FormOptions:
    """What the form offers: catalogs, the chosen catalog's flux types, dust maps."""

    redshift_catalogs: list[dict[str, Any]]
    object_catalogs: list[dict[str, Any]]
    flux_types: dict[str, list[str]]
    flux_types_problem: str | None
    dust: list[dict[str, Any]]
    choices: dict[str, tuple[str, ...]]


def form_options(registry: Registry, object_catalog: str) -> FormOptions:
    """The lists the form offers, with the flux types of ``object_catalog``."""
    from tsmaker.manage.catalogs import flux_types, list_catalogs

    catalogs = list_catalogs(registry, check_reachable=False)
    usable = [c for c in catalogs if c["id"] is not None or c["location"] != "not registered"]
    types: dict[str, list[str]] = {}
    problem = None
    if object_catalog:
        try:
            types = flux_types(object_catalog, registry)
        except TsmakerError as error:
            problem = str(error)
    return FormOptions(
        redshift_catalogs=[c for c in usable if c["kind"] == "redshift"],
        object_catalogs=[c for c in catalogs if c["kind"] == "object"],
        flux_types=types,
        flux_types_problem=problem,
        dust=dust_options(),
        choices=CHOICES,
    )


def dust_options() -> list[dict[str, Any]]:
    """Each ``dust`` choice, with whether it can be used here and why not."""
    from tsmaker.science.dust_maps import dust_status

    found = {location.name: location.found for location in dust_status()}
    options = []
    for choice in DUST_CHOICES:
        installed = found.get(choice, True)
        options.append({
            "value": choice, "installed": installed,
            "hint": None if installed else f"not installed: run `tsmaker dust fetch {choice}`",
        })
    return options
