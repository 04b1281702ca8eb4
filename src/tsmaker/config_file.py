"""Run parameters in a config file: TOML (or JSON) keyed by ``tsmaker run``'s flag names.

``tsmaker run --config FILE`` reads one (:func:`load_config`), between ``--like`` and
the flags given; ``--save-config FILE`` writes a run's parameters (:func:`save_config`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsmaker.errors import InputError
from tsmaker.flags import parameter_error

if TYPE_CHECKING:
    from tsmaker.parameters import RunParameters

__all__ = ["load_config", "save_config"]


def load_config(path: Path) -> dict[str, Any]:
    """Read a TOML (or JSON) config file of run parameters keyed by flag names.

    A ``[run]`` table is used when present, else the top level.

    Raises
    ------
    InputError
        The file cannot be read or is not valid TOML/JSON.
    """
    import tomllib

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read config file {str(path)!r}: {error.strerror}") from None
    try:
        data = json.loads(text) if Path(path).suffix.lower() == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"config file {str(path)!r} is not valid TOML/JSON: {error}") from None
    data = data.get("run", data)
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def save_config(parameters: RunParameters, path: Path) -> Path:
    """Write the parameters as a TOML config file keyed by flag names (None values left out).

    The file is replaced atomically: an existing config is never left half-written.

    Raises
    ------
    ParameterError
        ``path`` is a folder, or cannot be written (read-only, missing folder...).
    """
    from tsmaker import atomic

    path = Path(path)
    if path.is_dir():
        raise parameter_error(
            "save_config", f"{{name}} {str(path)!r} is a folder; give a file path, e.g. "
            f"{{set}}{path / 'run.toml'}"
        )
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
    try:
        return atomic.write_text(path, "\n".join(lines) + "\n", replace=True)
    except OSError as error:
        raise parameter_error(
            "save_config", f"{{name}} {str(path)!r} cannot be written "
            f"({error.strerror or error}); choose a writable file, e.g. {{set}}run.toml"
        ) from None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    return json.dumps(str(value))
