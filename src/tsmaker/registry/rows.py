"""Turning registry rows to records and values to JSON: shared by the registry's tables."""

from __future__ import annotations

import datetime
import json
import os

from tsmaker.errors import InputError


def utc_now() -> str:
    """The current time, ISO 8601 UTC to the millisecond."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _json_default(value: object) -> object:
    """Turn the non-JSON values runs commonly carry into JSON ones."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dump_json(value: object, what: str) -> str:
    """``value`` as JSON text, or InputError naming what could not be stored."""
    try:
        return json.dumps(value, default=_json_default, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot store the {what} in the registry: {exc}") from exc
