"""Runs made ``--like`` an earlier product: the same inputs, or a clear refusal.

A product records where its two inputs were and their fingerprints (a spec-z file's
size and SHA-256; a HATS catalog's row count, partitions and a hash of its metadata
files). A run started from it (``tsmaker run --like P``) that uses the same catalog
references compares today's fingerprints with the recorded ones: when they differ,
the run is refused with a message naming the file and the difference, unless
``--accept-changed-inputs`` (``accept_changed_inputs=True``) is given, in which case
the change is recorded with the new product (``inputs.<kind>.changed_since``) and
said in a notice. A reference that is no longer registered falls back to the
location the product recorded (and its columns, or profile).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tsmaker.errors import CatalogError, InputError, ParameterError
from tsmaker.inputs.resolve import (
    ObjectReference,
    RedshiftReference,
    resolve_object_catalog,
    resolve_redshift_catalog,
)

if TYPE_CHECKING:
    from tsmaker.registry import ProductRecord, Registry

INPUT_KINDS: dict[str, str] = {"redshift": "redshift_catalog", "object": "object_catalog"}
"""Input kind -> the run parameter naming its catalog."""

#: Fingerprint keys that are not about the content (a file touched keeps its content).
_NOT_CONTENT = frozenset({"modified"})


@dataclass(frozen=True)
class EarlierProduct:
    """The product a run starts from (``--like``), as far as its inputs go."""

    full_name: str
    parameters: dict[str, object]
    inputs: dict[str, object]
    accept_changed_inputs: bool = False
    """Use inputs that changed since the product was made (and record the change)."""

    @classmethod
    def of(cls, product: ProductRecord, *, accept_changed_inputs: bool = False
           ) -> EarlierProduct:
        """The earlier product ``product``."""
        return cls(product.full_name, dict(product.parameters), dict(product.inputs),
                   accept_changed_inputs)

    def recorded(self, kind: str, reference: str) -> dict[str, Any] | None:
        """What the product recorded about its ``kind`` input, if this run uses the same one.

        ``kind`` is ``redshift`` or ``object``; None when this run names another
        catalog than the product did, or the product recorded nothing.
        """
        if self.parameters.get(INPUT_KINDS[kind]) != reference:
            return None
        recorded = self.inputs.get(kind)
        return dict(recorded) if isinstance(recorded, Mapping) and recorded.get(
            "location") else None


def input_changes(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """How an input differs from what was recorded: location, rows and fingerprint.

    Only fingerprint entries present on both sides are compared (older records have
    fewer), and not the modification date alone.

    Examples
    --------
    >>> input_changes(
    ...     {"location": "/d/s.parquet", "cleaning": {"rows_read": 871},
    ...      "fingerprint": {"size_bytes": 900, "sha256": "aa11", "modified": "x"}},
    ...     {"location": "/d/s.parquet", "cleaning": {"rows_read": 861},
    ...      "fingerprint": {"size_bytes": 880, "sha256": "bb22", "modified": "y"}})
    ['rows read 871 -> 861', 'size 900 -> 880 bytes', 'sha256 aa11 -> bb22', 'modified x -> y']
    """
    changes = []
    if recorded.get("location") != current.get("location"):
        changes.append(f"location {recorded.get('location')} -> {current.get('location')}")
    rows_before = (recorded.get("cleaning") or {}).get("rows_read")
    rows_now = (current.get("cleaning") or {}).get("rows_read")
    if rows_before is not None and rows_now is not None and rows_before != rows_now:
        changes.append(f"rows read {rows_before} -> {rows_now}")
    before = recorded.get("fingerprint") or {}
    now = current.get("fingerprint") or {}
    content_changed = False
    for key in sorted(before, key=lambda key: {"size_bytes": 0, "sha256": 1}.get(key, 2)):
        if key in now and key not in _NOT_CONTENT and before[key] != now[key]:
            content_changed = True
            if key == "size_bytes":
                changes.append(f"size {before[key]} -> {now[key]} bytes")
            else:
                changes.append(f"{key} {_short(before[key])} -> {_short(now[key])}")
    if content_changed and "modified" in before and "modified" in now:
        changes.append(f"modified {before['modified']} -> {now['modified']}")
    return changes


def _short(value: object) -> str:
    text = str(value)
    return text[:12] + "…" if len(text) == 64 else text  # a SHA-256


def check_inputs(inputs: dict[str, Any], parameters: Mapping[str, Any],
                 earlier: EarlierProduct) -> list[str]:
    """Compare a run's inputs with the earlier product's; the notices to show.

    Parameters
    ----------
    inputs : dict
        The run's ``inputs`` record (``redshift`` and ``object``); a changed input
        accepted gets ``changed_since`` there.
    parameters : mapping
        The run's parameters (the catalog references).
    earlier : EarlierProduct
        The product the run starts from.

    Raises
    ------
    ParameterError
        About ``accept_changed_inputs``: an input changed and the change was not
        accepted.
    """
    notices = []
    for kind, parameter in INPUT_KINDS.items():
        recorded = earlier.recorded(kind, parameters[parameter])
        if recorded is None:
            continue
        current = inputs[kind]
        changes = input_changes(recorded, current)
        if not changes:
            continue
        described = (f"{kind} catalog '{current['location']}' changed since product "
                     f"{earlier.full_name} was made: " + ", ".join(changes))
        if not earlier.accept_changed_inputs:
            raise ParameterError("accept_changed_inputs", {
                "python": f"{described}; restore it, or use it as it is now with "
                          "accept_changed_inputs=True (the change is recorded)",
                "cli": f"{described}; restore it, or use it as it is now with "
                       "--accept-changed-inputs (the change is recorded)",
            })
        current["changed_since"] = {"product": earlier.full_name, "changes": changes}
        notices.append(described + "; used as it is now (the change is recorded)")
    return notices


def resolve_object(reference: str, registry: Registry, earlier: EarlierProduct | None,
                   notices: list[str]) -> ObjectReference:
    """Where an object catalog reference points; an unregistered one, where ``earlier`` had it.

    Raises
    ------
    CatalogError
        As :func:`tsmaker.inputs.resolve.resolve_object_catalog`, when no earlier
        product recorded the reference either.
    """
    try:
        return resolve_object_catalog(reference, registry)
    except CatalogError:
        recorded = earlier.recorded("object", reference) if earlier else None
        if recorded is None:
            raise
    notices.append(_fallback_notice("object", reference, recorded["location"], earlier))
    return ObjectReference(recorded["location"], recorded.get("profile") or "generic")


def resolve_redshift(reference: str, registry: Registry, earlier: EarlierProduct | None,
                     notices: list[str]) -> RedshiftReference:
    """Where a redshift catalog reference points; an unregistered one, where ``earlier`` had it.

    The columns the earlier product used come with it.

    Raises
    ------
    InputError
        As :func:`tsmaker.inputs.resolve.resolve_redshift_catalog`, when no earlier
        product recorded the reference either.
    """
    try:
        return resolve_redshift_catalog(reference, registry)
    except InputError:
        recorded = earlier.recorded("redshift", reference) if earlier else None
        if recorded is None:
            raise
    notices.append(_fallback_notice("redshift", reference, recorded["location"], earlier))
    return RedshiftReference(recorded["location"], dict(
        recorded.get("file_columns") or recorded.get("columns") or {}))


def _fallback_notice(kind: str, reference: str, location: str,
                     earlier: EarlierProduct | None) -> str:
    assert earlier is not None
    return (f"{kind} catalog {reference!r} is not registered any more; using "
            f"'{location}', where product {earlier.full_name} found it")
