"""What a run means: its parameters, their defaults, validation and precedence.

One dataclass, :class:`RunParameters`, is shared by the command line, the Python API,
the web page and config files. :meth:`RunParameters.from_sources` merges the places a
run's parameters come from, later ones winning: the parameters of an earlier product
(``--like``), then a config file (``--config``), then the values given explicitly.

Config files (``tsmaker run --config run.toml``) use the command-line flag names as
keys, with dashes or underscores: ``redshift``, ``object``, ``radius``, ``neighbors``,
``format``, ``flux-type``, ``dust``, ``split`` ...; execution settings (``workers``,
``threads-per-worker``, ``memory-limit``, ``scheduler``) may sit beside them.
"""

import math
import numbers
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tsmaker.config_file import load_config, save_config
from tsmaker.errors import InputError, ParameterError
from tsmaker.flags import (
    COORD_UNITS,
    CRD_DUPLICATE_CHOICES,
    DUST_CHOICES,
    EXECUTION_KEYS,
    FIELD_TO_FLAG,
    FLAG_ORDER_CHOICES,
    FLAG_TO_FIELD,
    HDF5_LAYOUTS,
    NAMING_CHOICES,
    OUTPUT_FORMATS,
    REQUIRED_FIELDS,
    UNIQUE_CHOICES,
    field_name,
    flag_of,
    holds_control_characters,
    parameter_error,
    parse_extinction_coeffs,
)

# The choices, flag names and their helpers live in tsmaker.flags, config files in
# tsmaker.config_file; they are named here too, with what a run means.
__all__ = [
    "COORD_UNITS", "CRD_DUPLICATE_CHOICES", "DUST_CHOICES", "EXECUTION_KEYS", "FIELD_TO_FLAG",
    "FLAG_ORDER_CHOICES", "FLAG_TO_FIELD", "HDF5_LAYOUTS", "NAMING_CHOICES", "OUTPUT_FORMATS",
    "REQUIRED_FIELDS", "UNIQUE_CHOICES", "RunParameters", "flag_of", "load_config",
    "parameter_error", "parse_extinction_coeffs", "save_config",
]


@dataclass
class RunParameters:
    """Everything that defines a training set; stored with each product."""

    name: str
    """Product name; the registry makes it unique as ``NAME_<id>``."""
    redshift_catalog: str
    """Registered redshift catalog (name or id), or a file / HATS path."""
    object_catalog: str
    """Registered object catalog (``dp1``, ``dp02``, ``demo``, ...), or a HATS path/URL."""
    description: str = ""
    """Free text stored with the product."""
    flux_type: str | None = None
    """Flux type, e.g. ``cModel``; None uses the profile's default."""
    magnitudes: bool = True
    """Add AB magnitudes (``--mag``) or keep fluxes only (``--flux``)."""
    zero_point: float = 31.4
    """AB zero point of the flux unit (31.4 for nJy)."""
    radius_arcsec: float = 1.0
    """Largest angular separation of a match, arcsec (at most the catalog's margin)."""
    n_neighbors: int = 1
    """Nearest objects kept per spec-z."""
    output_format: str = "parquet"
    """One of :data:`OUTPUT_FORMATS`."""
    hdf5_layout: str = "columns"
    """Layout of an HDF5 product, one of :data:`HDF5_LAYOUTS`: ``columns`` (a group
    ``photometry`` with one dataset per column, as tables_io writes and RAIL reads) or
    ``table`` (one compound dataset ``training_set``, as astropy writes)."""
    hdf5_group: str = "photometry"
    """Group of the ``columns`` layout (RAIL's ``hdf5_groupname``)."""
    output_dir: str | None = None
    """Folder for the product files; default ``$TSMAKER_HOME/products``."""
    dust: str = "none"
    """E(B-V) source, one of :data:`DUST_CHOICES`."""
    dust_dir: str | None = None
    """Folder searched first for dust-map files."""
    extinction_coeffs: dict[str, float] | None = None
    """R_band overrides, merged over the profile's."""
    unique: str = "none"
    """``closest``: every object and every spec-z at most once."""
    z_flag_better: str = "higher"
    """Which quality-flag values are better, for ``--unique`` ties: higher or lower."""
    split_fraction: float | None = None
    """Fraction of spec-z flagged ``is_training``."""
    seed: int = 0
    """Seed of the split."""
    where: str | None = None
    """Row filter on the redshift catalog, e.g. ``"z_flag >= 3 and z > 0"``."""
    z_min: float | None = None
    """Keep spec-z with z >= this."""
    z_max: float | None = None
    """Keep spec-z with z <= this."""
    keep_sentinels: bool = False
    """Keep rows whose redshift is a missing-value sentinel (NaN, <= -0.5, >= 99)."""
    ra_column: str | None = None
    """RA column of the redshift catalog (degrees); None detects it."""
    dec_column: str | None = None
    """Dec column of the redshift catalog (degrees); None detects it."""
    z_column: str | None = None
    """Redshift column; None detects it."""
    z_err_column: str | None = None
    """Redshift error column; None detects it."""
    z_flag_column: str | None = None
    """Quality flag column; None detects it."""
    id_column: str | None = None
    """Unique spec-z id column; None detects it."""
    coord_unit: str = "auto"
    """Unit of the redshift catalog's coordinates, one of :data:`COORD_UNITS`."""
    naming: str = "rubin"
    """Column names, one of :data:`NAMING_CHOICES`: ``rail`` names the magnitudes
    ``mag_{band}_lsst`` / ``mag_err_{band}_lsst`` and the redshift ``redshift``, and writes
    non-detections as 99 (RAIL's ``nondetect_val``)."""
    crd_duplicates: str = "keep-ties"
    """For a Combine-Redshift-Catalogs file, one of :data:`CRD_DUPLICATE_CHOICES`:
    ``keep-ties`` drops losing duplicates (``tie_result`` 0) and stars (3) and keeps
    unresolved ties (2); ``drop-ties`` drops those too; ``keep-all`` keeps every row."""
    execution: dict[str, Any] = field(default_factory=dict)
    """Execution settings (workers, scheduler, SLURM); not part of the result."""

    def validate(self) -> None:
        """Refuse bad values with one clear line each, before anything is read.

        Raises
        ------
        ParameterError
            Naming the parameter at fault (the first of :meth:`problems`).
        """
        problems = self.problems()
        if problems:
            raise problems[0]

    def problems(self) -> list[ParameterError]:
        """Every parameter with a value it cannot take, one error each, in field order.

        A form shows each beside its field; :meth:`validate` raises the first.

        Examples
        --------
        >>> wrong = RunParameters("t", "s.csv", "demo", radius_arcsec=0, n_neighbors=0)
        >>> [error.parameter for error in wrong.problems()]
        ['radius_arcsec', 'n_neighbors']
        """
        return [error for error in self._checks() if error is not None]

    def _checks(self) -> Iterator[ParameterError | None]:
        for catalog, example in (("redshift_catalog", "demo-specz"), ("object_catalog", "dp1")):
            reference = getattr(self, catalog)
            if not isinstance(reference, str) or not reference.strip():
                yield parameter_error(
                    catalog, "{name} is empty; give a registered catalog's name or a path, "
                    f"e.g. {{set}}{example}"
                )
        if not self.name or not self.name.strip():
            yield parameter_error(
                "name", "{name} is empty; give the product a name, e.g. {set}dp1_train"
            )
        elif holds_control_characters(self.name):
            yield parameter_error(
                "name", f"{{name}} {self.name!r} holds control characters (tab, newline...); "
                "give a name of printable characters"
            )
        radius = self.radius_arcsec
        if not (_is_number(radius) and math.isfinite(radius) and radius > 0):
            yield parameter_error(
                "radius_arcsec", f"{{name}} {radius} must be a number greater than 0 (arcsec); "
                "use e.g. {set}1.0"
            )
        neighbors = self.n_neighbors
        if not _is_number(neighbors) or int(neighbors) != neighbors or neighbors < 1:
            yield parameter_error(
                "n_neighbors", f"{{name}} {neighbors} must be a whole number >= 1"
            )
        yield self._check_choice("output_format", OUTPUT_FORMATS)
        yield self._check_choice("hdf5_layout", HDF5_LAYOUTS)
        group = self.hdf5_group
        if not isinstance(group, str) or group != group.strip() or group in {"", ".", ".."} or (
                "/" in group):
            yield parameter_error("hdf5_group", f"{{name}} {group!r} must be a group name "
                                  "(not empty, '.' or '..'; no '/', no surrounding spaces); "
                                  "use e.g. {set}photometry")
        yield self._check_choice("dust", DUST_CHOICES)
        yield self._check_choice("unique", UNIQUE_CHOICES)
        yield self._check_choice("z_flag_better", FLAG_ORDER_CHOICES)
        yield self._check_choice("coord_unit", COORD_UNITS)
        yield self._check_choice("naming", NAMING_CHOICES)
        yield self._check_choice("crd_duplicates", CRD_DUPLICATE_CHOICES)
        if self.naming == "rail" and not self.magnitudes:
            yield ParameterError("naming", {
                "python": "naming='rail' writes magnitudes (mag_{band}_lsst), and "
                "magnitudes=False asks for fluxes only; drop one of them",
                "cli": "--naming rail writes magnitudes (mag_{band}_lsst), and --flux asks "
                "for fluxes only; drop one of them",
            })
        split = self.split_fraction
        if split is not None and not (_is_number(split) and 0.0 < split < 1.0):
            yield parameter_error(
                "split_fraction", f"{{name}} {split} must be between 0 and 1 (exclusive), "
                "e.g. {set}0.8"
            )
        for band, coefficient in (self.extinction_coeffs or {}).items():
            if not (_is_number(coefficient) and math.isfinite(coefficient)):
                yield parameter_error(
                    "extinction_coeffs", f"{{name}}: R_{band} = {coefficient!r} must be a "
                    "finite number, e.g. {set}u=4.81,g=3.64"
                )
        if not (_is_number(self.zero_point) and math.isfinite(self.zero_point)):
            yield parameter_error(
                "zero_point", f"{{name}} {self.zero_point} must be a finite number; use "
                "e.g. {set}31.4 (nJy)"
            )
        bounds_ok = True
        for bound in ("z_min", "z_max"):
            value = getattr(self, bound)
            if value is not None and not (_is_number(value) and math.isfinite(value)):
                bounds_ok = False
                example = "0.01" if bound == "z_min" else "3.0"
                yield parameter_error(bound, f"{{name}} {value} must be a finite number; "
                                      f"use e.g. {{set}}{example}, or leave it out")
        if bounds_ok and self.z_min is not None and self.z_max is not None and (
            self.z_min > self.z_max
        ):
            yield ParameterError("z_min", {
                "python": f"z_min {self.z_min} is larger than z_max {self.z_max}; swap "
                "them (z_min is the lower bound)",
                "cli": f"--z-min {self.z_min} is larger than --z-max {self.z_max}; swap "
                "them (--z-min is the lower bound)",
            })

    def _check_choice(self, parameter: str, choices: tuple[str, ...]) -> ParameterError | None:
        value = getattr(self, parameter)
        if value not in choices:
            return parameter_error(
                parameter, f"{{name}} {value!r} is not one of: {', '.join(choices)}",
                choice=True,
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return asdict(self)

    def to_flags(self) -> dict[str, Any]:
        """The parameters keyed by command-line flag name (what a config file holds)."""
        return {FIELD_TO_FLAG.get(key, key): value for key, value in self.to_dict().items()}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "RunParameters":
        """Build from a mapping keyed by field or flag names (dashes or underscores).

        Raises
        ------
        InputError
            An unknown key.
        ParameterError
            A required parameter (name, redshift catalog, object catalog) is missing.
        """
        known = {f.name for f in fields(cls)}
        converted: dict[str, Any] = {}
        for key, value in values.items():
            name = field_name(key)
            if name not in known:
                raise InputError(
                    f"unknown parameter {key!r}; known keys are the `tsmaker run` flags, "
                    "e.g. redshift, object, radius, neighbors, format"
                )
            converted[name] = value
        missing = [name for name in REQUIRED_FIELDS if converted.get(name) is None]
        if missing:
            raise ParameterError(missing[0], {
                "python": f"missing required parameters: {', '.join(missing)}",
                "cli": "missing required parameters: "
                + ", ".join(flag_of(name) for name in missing),
            })
        return cls(**converted)

    @classmethod
    def from_sources(
        cls,
        explicit: Mapping[str, Any],
        *,
        like: Mapping[str, Any] | None = None,
        config: Path | None = None,
    ) -> "RunParameters":
        """Merge the sources of a run's parameters; later sources win.

        Parameters
        ----------
        explicit : mapping
            Values given on the command line, the form or the Python call, keyed by
            field or flag names; None means "not given".
        like : mapping, optional
            The stored parameters of an earlier product (``--like``): its fields are
            the starting point, except its execution settings (a rerun chooses its own).
        config : Path, optional
            A TOML or JSON config file (:func:`load_config`), between the two.

        Returns
        -------
        RunParameters
            Not yet validated (:meth:`validate`).
        """
        known = {f.name for f in fields(cls)} - {"execution"}
        values: dict[str, Any] = {}
        execution: dict[str, Any] = {}
        if like:
            values.update({key: value for key, value in like.items() if key in known})
        for source in (load_config(config) if config else {}, explicit):
            for key, value in source.items():
                name = field_name(key)
                if value is None:
                    continue
                if name in EXECUTION_KEYS:
                    execution[name] = value
                elif name == "execution":
                    execution.update({k: v for k, v in dict(value).items() if v is not None})
                else:
                    values[name] = value
        values["execution"] = execution
        return cls.from_mapping(values)


def _is_number(value: object) -> bool:
    """A real number, numpy's scalars included (numpy's bool is not one), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
