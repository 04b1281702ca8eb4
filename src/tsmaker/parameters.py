"""The parameters of a run: one dataclass shared by the CLI, the Python API and config files.

Config files (``tsmaker run --config run.toml``) use the command-line flag names as
keys, with dashes or underscores: ``redshift``, ``object``, ``radius``, ``neighbors``,
``format``, ``flux-type``, ``dust``, ``split`` ... Flags given on the command line
override the file.
"""

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tsmaker.errors import InputError

OUTPUT_FORMATS: tuple[str, ...] = ("parquet", "csv", "fits", "hdf5", "hats")
DUST_CHOICES: tuple[str, ...] = ("none", "catalog", "sfd", "csfd", "planck", "planck-gnilc")
UNIQUE_CHOICES: tuple[str, ...] = ("none", "closest")
FLAG_ORDER_CHOICES: tuple[str, ...] = ("higher", "lower")

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
    flux_type: str | None = None
    """Flux type, e.g. ``cModel``; None uses the profile's default."""
    magnitudes: bool = True
    """Add AB magnitudes (``--mag``) or keep fluxes only (``--flux``)."""
    zero_point: float = 31.4
    """AB zero point of the flux unit (31.4 for nJy)."""
    radius_arcsec: float = 1.0
    n_neighbors: int = 1
    output_format: str = "parquet"
    output_dir: str | None = None
    """Folder for the product files; default ``$TSMAKER_HOME/products``."""
    dust: str = "none"
    """E(B-V) source: none, catalog, sfd, csfd, planck, planck-gnilc."""
    dust_dir: str | None = None
    extinction_coeffs: dict[str, float] | None = None
    """R_band overrides, merged over the profile's."""
    unique: str = "none"
    """``closest``: every object and every spec-z at most once."""
    z_flag_better: str = "higher"
    """Which quality-flag values are better, for ``--unique`` ties: higher or lower."""
    split_fraction: float | None = None
    """Fraction of spec-z flagged ``is_training``."""
    seed: int = 0
    where: str | None = None
    z_min: float | None = None
    z_max: float | None = None
    keep_sentinels: bool = False
    """Keep rows whose redshift is a missing-value sentinel (NaN, <= -0.5, >= 99)."""
    ra_column: str | None = None
    dec_column: str | None = None
    z_column: str | None = None
    z_err_column: str | None = None
    z_flag_column: str | None = None
    id_column: str | None = None
    coord_unit: str = "auto"
    execution: dict[str, Any] = field(default_factory=dict)
    """Execution settings (workers, scheduler, SLURM); not part of the result."""

    def validate(self) -> None:
        """Refuse bad values with one clear line each, before anything is read."""
        if not self.name or not self.name.strip():
            raise InputError("--name is empty; give the product a name, e.g. --name dp1_train")
        if not (isinstance(self.radius_arcsec, int | float) and math.isfinite(self.radius_arcsec)
                and self.radius_arcsec > 0):
            raise InputError(
                f"--radius {self.radius_arcsec} must be a number greater than 0 (arcsec); "
                "use e.g. --radius 1.0"
            )
        if int(self.n_neighbors) != self.n_neighbors or self.n_neighbors < 1:
            raise InputError(f"--neighbors {self.n_neighbors} must be a whole number >= 1")
        _check_choice(self.output_format, OUTPUT_FORMATS, "--format")
        _check_choice(self.dust, DUST_CHOICES, "--dust")
        _check_choice(self.unique, UNIQUE_CHOICES, "--unique")
        _check_choice(self.z_flag_better, FLAG_ORDER_CHOICES, "--z-flag-better")
        if self.split_fraction is not None and not 0.0 < self.split_fraction < 1.0:
            raise InputError(
                f"--split {self.split_fraction} must be between 0 and 1 (exclusive), "
                "e.g. --split 0.8"
            )
        if not math.isfinite(self.zero_point):
            raise InputError(f"--zero-point {self.zero_point} must be a finite number")
        if self.z_min is not None and self.z_max is not None and self.z_min > self.z_max:
            raise InputError(f"--z-min {self.z_min} is larger than --z-max {self.z_max}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return asdict(self)

    def to_flags(self) -> dict[str, Any]:
        """The parameters keyed by command-line flag name (what a config file holds)."""
        return {FIELD_TO_FLAG.get(key, key): value for key, value in self.to_dict().items()}

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "RunParameters":
        """Build from a mapping keyed by field or flag names (dashes or underscores)."""
        known = {f.name for f in fields(cls)}
        converted: dict[str, Any] = {}
        for key, value in values.items():
            name = str(key).replace("-", "_")
            name = FLAG_TO_FIELD.get(name, name)
            if name not in known:
                raise InputError(
                    f"unknown parameter {key!r}; known keys are the `tsmaker run` flags, "
                    "e.g. redshift, object, radius, neighbors, format"
                )
            converted[name] = value
        missing = [n for n in ("name", "redshift_catalog", "object_catalog") if n not in converted]
        if missing:
            flags = ", ".join("--" + FIELD_TO_FLAG.get(n, n) for n in missing)
            raise InputError(f"missing required parameters: {flags}")
        return cls(**converted)


def _check_choice(value: str, choices: tuple[str, ...], flag: str) -> None:
    if value not in choices:
        raise InputError(f"{flag} {value!r} is not one of: {', '.join(choices)}")


def load_config(path: Path) -> dict[str, Any]:
    """Read a TOML (or JSON) config file of run parameters keyed by flag names.

    A ``[run]`` table is used when present, else the top level.
    """
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read config file {str(path)!r}: {error.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"config file {str(path)!r} is not valid TOML/JSON: {error}") from None
    data = data.get("run", data)
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def save_config(parameters: RunParameters, path: Path) -> Path:
    """Write the parameters as a TOML config file keyed by flag names (None values left out)."""
    lines = ["# tsmaker run configuration: `tsmaker run --config FILE`", "[run]"]
    for key, value in parameters.to_flags().items():
        if value is None or value == {} or key == "execution":
            continue
        lines.append(f"{key.replace('_', '-')} = {_toml_value(value)}")
    execution = {k: v for k, v in parameters.execution.items() if v is not None}
    for key, value in execution.items():
        if isinstance(value, dict):
            continue
        lines.append(f"{key.replace('_', '-')} = {_toml_value(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    return json.dumps(str(value))
