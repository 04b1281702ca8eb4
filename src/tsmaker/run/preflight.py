"""Preflight: can these parameters run? Every check a run makes before reading spec-z rows.

A web form or an API call asks this before anything is registered, so that an invalid
form registers nothing and each problem is shown beside its field. The checks are the
run's own (:mod:`tsmaker.run.checks`): the values validate, the catalog references
resolve, the object catalog's metadata is readable and serves the radius, the flux type
and the dust source, the output folder is writable, and the redshift catalog's columns
are found from its header (the ``where`` filter is parsed against them). The spec-z rows
are not read: a file that passes can still fail when the run reads it (rows that do not
parse, duplicated ids, nothing left after the cuts), and the run then fails with that
message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tsmaker.errors import TsmakerError, about
from tsmaker.parameters import RunParameters
from tsmaker.run.checks import check_object_catalog, check_output_dir, column_overrides

if TYPE_CHECKING:
    from tsmaker.registry import Registry

GENERAL = ""
"""Key of :attr:`Preflight.problems` for a problem about no parameter in particular."""


@dataclass
class Preflight:
    """What the checks found: the problems by parameter, and what the run would use."""

    problems: dict[str, TsmakerError] = field(default_factory=dict)
    """Parameter (a :class:`RunParameters` field, or :data:`GENERAL`) -> its first problem."""
    notices: list[str] = field(default_factory=list)
    """What the run would say without failing (e.g. the flux type it falls back on)."""
    flux_type: str | None = None
    """The flux type the run would use (the profile's default when none was given)."""
    bands: tuple[str, ...] = ()
    redshift_columns: dict[str, str] = field(default_factory=dict)
    """Role (ra, dec, z, ...) -> the redshift catalog's column the run would use."""

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def raise_first(self) -> None:
        """Raise the first problem found, if any."""
        for problem in self.problems.values():
            raise problem

    @contextmanager
    def checking(self, parameter: str) -> Iterator[None]:
        """Record a problem raised in the block under its parameter (else ``parameter``)."""
        try:
            with about(parameter):
                yield
        except TsmakerError as error:
            self.problems.setdefault(error.parameter or GENERAL, error)
            raise _Skip from None


class _Skip(Exception):  # noqa: N818 - control flow: the checks that depend on a failed one
    """The rest of a group of checks depends on one that failed."""


def preflight_run(parameters: RunParameters, registry: Registry) -> Preflight:
    """Check that a run of ``parameters`` can start, reading no spec-z rows.

    Every problem is collected (the first per parameter), not only the first: checks
    that depend on a failed one are skipped.

    Parameters
    ----------
    parameters : RunParameters
        As a form or an API call gave them (not yet validated).
    registry : Registry
        Where the catalogs are registered.

    Returns
    -------
    Preflight
        ``ok`` when a run can start; else ``problems``.

    Examples
    --------
    >>> from tsmaker.registry import Registry
    >>> registry = Registry(getfixture("tmp_path") / "registry.sqlite")
    >>> found = preflight_run(RunParameters("t", "nowhere.csv", "nothing", radius_arcsec=0),
    ...                       registry)
    >>> sorted(found.problems)
    ['object_catalog', 'radius_arcsec', 'redshift_catalog']
    """
    from tsmaker.run.execution import ExecutionSettings

    found = Preflight()
    for problem in parameters.problems():
        found.problems.setdefault(problem.parameter or GENERAL, problem)
    for group in (_check_objects, _check_output, _check_redshift):
        try:
            group(parameters, registry, found)
        except _Skip:
            pass
    try:
        with found.checking("execution"):
            ExecutionSettings.from_mapping(parameters.execution).validate()
    except _Skip:
        pass
    return found


def _check_objects(parameters: RunParameters, registry: Registry, found: Preflight) -> None:
    with found.checking("object_catalog"):
        checked = check_object_catalog(parameters, registry, found.notices)
    found.flux_type, found.bands = checked.flux_type, checked.bands


def _check_output(parameters: RunParameters, registry: Registry, found: Preflight) -> None:
    with found.checking("output_dir"):
        check_output_dir(parameters.output_dir)


def _check_redshift(parameters: RunParameters, registry: Registry, found: Preflight) -> None:
    from tsmaker.columns import SPECZ_ROW_COLUMN
    from tsmaker.formats.tables import REDSHIFT_TABLE, table_columns
    from tsmaker.inputs.crd import crd_role_overrides
    from tsmaker.inputs.filters import parse_where
    from tsmaker.inputs.redshift import detect_columns
    from tsmaker.inputs.resolve import resolve_redshift_catalog

    with found.checking("redshift_catalog"):
        reference = resolve_redshift_catalog(parameters.redshift_catalog, registry)
        columns = table_columns(Path(reference.location), REDSHIFT_TABLE)
    with found.checking("redshift_catalog"):
        overrides = crd_role_overrides(columns, column_overrides(reference.columns, parameters))
        found.redshift_columns = detect_columns(columns, overrides)
    if parameters.where:
        # The cleaning adds the row number before filtering (a file's own is renamed).
        known = [*columns, SPECZ_ROW_COLUMN, f"{SPECZ_ROW_COLUMN}_file"]
        with found.checking("where"):
            parse_where(parameters.where, known)
