"""Run parameters as a user spells them: flag names, choices, and errors naming either.

Every :class:`tsmaker.parameters.RunParameters` field has a command-line flag
(``radius_arcsec`` is ``--radius``); a choice parameter takes one of a few names
(:data:`OUTPUT_FORMATS`, :data:`DUST_CHOICES`, ...). An error about a parameter names it
as the caller spelled it, flag or keyword (:func:`parameter_error`), and the text form of
``--extinction-coeffs`` is read here (:func:`parse_extinction_coeffs`).
"""

import math
import unicodedata

from tsmaker.errors import Naming, ParameterChoiceError, ParameterError

OUTPUT_FORMATS: tuple[str, ...] = ("parquet", "csv", "fits", "hdf5", "hats")
HDF5_LAYOUTS: tuple[str, ...] = ("columns", "table")
"""HDF5 product layouts: a group of column datasets (tables_io, RAIL), or one table."""
DUST_CHOICES: tuple[str, ...] = ("none", "catalog", "sfd", "csfd", "planck", "planck-gnilc")
UNIQUE_CHOICES: tuple[str, ...] = ("none", "closest")
FLAG_ORDER_CHOICES: tuple[str, ...] = ("higher", "lower")
COORD_UNITS: tuple[str, ...] = ("auto", "deg", "hour", "rad")
NAMING_CHOICES: tuple[str, ...] = ("rubin", "rail")
"""Column names of the product: Rubin's (``g_cModelMag``) or RAIL's (``mag_g_lsst``)."""
CRD_DUPLICATE_CHOICES: tuple[str, ...] = ("keep-ties", "drop-ties", "keep-all")
"""What a Combine-Redshift-Catalogs file keeps, by ``tie_result`` (:mod:`tsmaker.inputs.crd`)."""
REQUIRED_FIELDS: tuple[str, ...] = ("name", "redshift_catalog", "object_catalog")
EXECUTION_KEYS: tuple[str, ...] = (
    "workers", "threads_per_worker", "memory_limit", "scheduler", "slurm", "in_flight",
)
"""Keys of a run's execution settings (:attr:`tsmaker.parameters.RunParameters.execution`);
a config file may give them at its top level."""

#: Command-line flag name (without dashes, dashes as underscores) -> RunParameters field.
FLAG_TO_FIELD: dict[str, str] = {
    "redshift": "redshift_catalog",
    "object": "object_catalog",
    "radius": "radius_arcsec",
    "neighbors": "n_neighbors",
    "format": "output_format",
    "mag": "magnitudes",
    "split": "split_fraction",
    "ra": "ra_column",
    "dec": "dec_column",
    "z": "z_column",
    "z_err": "z_err_column",
    "z_flag": "z_flag_column",
    "id": "id_column",
}
FIELD_TO_FLAG: dict[str, str] = {value: key for key, value in FLAG_TO_FIELD.items()}


def flag_of(parameter: str) -> str:
    """The command-line flag of a run parameter (a field), e.g. ``--radius``.

    Examples
    --------
    >>> flag_of("radius_arcsec"), flag_of("z_min")
    ('--radius', '--z-min')
    """
    return "--" + FIELD_TO_FLAG.get(parameter, parameter).replace("_", "-")


def parameter_error(parameter: str, template: str, *, choice: bool = False) -> ParameterError:
    """A :class:`ParameterError` about ``parameter``, its message in every naming.

    ``template`` holds ``{name}`` where the parameter is named and ``{set}`` where an
    example value is assigned (``--radius 1.0`` / ``radius_arcsec=1.0``); any other
    text, braces included, is kept as it is. With ``choice`` the value is outside the
    parameter's choices: a :class:`tsmaker.errors.ParameterChoiceError`, which the
    command line reports as a usage error (exit code 2).

    Examples
    --------
    >>> error = parameter_error("radius_arcsec", "{name} 0 must be > 0; use e.g. {set}1.0")
    >>> error.message("cli")
    '--radius 0 must be > 0; use e.g. --radius 1.0'
    >>> str(error)
    'radius_arcsec 0 must be > 0; use e.g. radius_arcsec=1.0'
    """
    flag = flag_of(parameter)
    spelled: dict[Naming, tuple[str, str]] = {
        "python": (parameter, f"{parameter}="),
        "cli": (flag, f"{flag} "),
    }
    error_class = ParameterChoiceError if choice else ParameterError
    return error_class(parameter, {
        naming: template.replace("{name}", name).replace("{set}", assignment)
        for naming, (name, assignment) in spelled.items()
    })


_NUMBER_EXAMPLES: dict[str, str] = {
    "split_fraction": "0.8", "zero_point": "31.4", "z_min": "0.01", "z_max": "3.0",
    "seed": "42",
}
"""Values that :func:`parse_number`'s message suggests, where 1 is not one."""


def parse_number(parameter: str, text: str, *, whole: bool = False) -> float | int:
    """A number parameter's value from text, as a flag or a form field gives it.

    Every front end reads numbers here, so ``--radius abc`` and a form's ``abc`` get
    the same message.

    Raises
    ------
    ParameterChoiceError
        Text that is not a number (``whole``: not a whole number); a usage error.

    Examples
    --------
    >>> parse_number("radius_arcsec", " 2.5 "), parse_number("seed", "3", whole=True)
    (2.5, 3)
    >>> try:
    ...     parse_number("n_neighbors", "2.5", whole=True)
    ... except ParameterError as error:
    ...     print(error.message("cli"))
    --neighbors '2.5' is not a whole number; use e.g. --neighbors 1
    """
    text = text.strip()
    try:
        return int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        example = _NUMBER_EXAMPLES.get(parameter, "1" if whole else "1.0")
        raise parameter_error(
            parameter, f"{{name}} {text!r} is not {kind}; use e.g. {{set}}{example}",
            choice=True,
        ) from None


def holds_control_characters(text: str) -> bool:
    r"""True when ``text`` holds a control character or a line break of any kind.

    C0 (tab, newline), DEL, C1 (``\x85`` is a line break to some readers) and the
    Unicode line and paragraph separators: what would break a name's line in
    ``products list`` or a tab-separated listing.

    Examples
    --------
    >>> holds_control_characters("dp1 train"), holds_control_characters("a\x85b")
    (False, True)
    """
    return any(unicodedata.category(character) in ("Cc", "Zl", "Zp") for character in text)


def field_name(key: str) -> str:
    """The :class:`tsmaker.parameters.RunParameters` field of a flag or field name.

    Examples
    --------
    >>> field_name("radius"), field_name("z-min"), field_name("radius_arcsec")
    ('radius_arcsec', 'z_min', 'radius_arcsec')
    """
    name = str(key).replace("-", "_")
    return FLAG_TO_FIELD.get(name, name)


def parse_extinction_coeffs(text: str) -> dict[str, float]:
    """Parse ``"u=4.8,g=3.6"`` into ``{"u": 4.8, "g": 3.6}``.

    Raises
    ------
    ParameterError
        On a malformed pair, a value that is not a finite number, or no pair at all.

    Examples
    --------
    >>> parse_extinction_coeffs("u=4.81, g=3.64")
    {'u': 4.81, 'g': 3.64}
    """
    coefficients: dict[str, float] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        band, separator, value = pair.partition("=")
        try:
            if not separator or not band.strip():
                raise ValueError
            coefficients[band.strip()] = float(value)
            if not math.isfinite(coefficients[band.strip()]):
                raise ValueError
        except ValueError:
            raise ParameterError("extinction_coeffs", {
                "cli": f"--extinction-coeffs: cannot read {pair!r}; write band=value pairs, "
                "e.g. u=4.81,g=3.64,r=2.70",
                "python": f"extinction_coeffs: cannot read {pair!r}; write band=value pairs, "
                "e.g. \"u=4.81,g=3.64\", or give a mapping such as {'u': 4.81, 'g': 3.64}",
            }) from None
    if not coefficients:
        raise ParameterError("extinction_coeffs", {
            "cli": "--extinction-coeffs is empty; write e.g. u=4.81,g=3.64,r=2.70",
            "python": "extinction_coeffs is empty; give e.g. {'u': 4.81, 'g': 3.64}",
        })
    return coefficients
