"""Spectroscopic-redshift catalogs: column roles, their detection, and the catalog a run matches.

Column roles
    ``ra``, ``dec`` (degrees, or sexagesimal text), ``z``, and the optional ``z_err``,
    ``z_flag``, ``id``. Columns the user names are taken as they are (``none`` turns an
    optional role off); the others are detected from the names real releases use,
    with documented preferences where several could serve
    (:mod:`tsmaker.inputs.column_names`): :func:`choose_columns` says which it took
    and why. The cleaning steps are in :mod:`tsmaker.inputs.cleaning`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tsmaker.columns import SPECZ_ROW_COLUMN
from tsmaker.errors import ParameterError
from tsmaker.inputs import column_names as names
from tsmaker.parameters import parameter_error

if TYPE_CHECKING:
    import pandas as pd

ROLES: tuple[str, ...] = ("ra", "dec", "z", "z_err", "z_flag", "id")
REQUIRED_ROLES: tuple[str, ...] = ("ra", "dec", "z")
OPTIONAL_ROLES: tuple[str, ...] = ("z_err", "z_flag", "id")
NO_COLUMN = "none"
"""Given for an optional role (``--id none``), it says the catalog has no such column."""
ROLE_PARAMETERS: dict[str, str] = {role: f"{role}_column" for role in ROLES}
"""Role -> the :class:`tsmaker.parameters.RunParameters` field that names its column."""
ROLE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "ra": tuple(dict.fromkeys(ra for _, pairs in names.RA_DEC_TIERS for ra, _ in pairs)),
    "dec": tuple(dict.fromkeys(dec for _, pairs in names.RA_DEC_TIERS for _, dec in pairs)),
    "z": tuple(name for _, tier in names.Z_TIERS for name in tier),
    "z_err": names.Z_ERR_NAMES,
    "z_flag": names.Z_FLAG_NAMES,
    "id": names.ID_NAMES,
}
"""Role -> the (lower-case) names detected for it, best first."""


@dataclass
class ColumnChoice:
    """The columns chosen for each role, why, and what the user should know."""

    roles: dict[str, str] = field(default_factory=dict)
    """Role -> column name, for every role that has a column."""
    reasons: dict[str, str] = field(default_factory=dict)
    """Role -> why this column (or why none), for every role."""
    notices: list[str] = field(default_factory=list)
    """Choices among several candidates, and what a chosen column means."""


def detect_columns(columns: list[str], overrides: Mapping[str, str | None]) -> dict[str, str]:
    """Role -> column, from the column names alone (:func:`choose_columns` without values).

    Raises
    ------
    ParameterError
        As :func:`choose_columns`.
    """
    return choose_columns(columns, overrides).roles


def choose_columns(
    columns: list[str], overrides: Mapping[str, str | None], frame: pd.DataFrame | None = None
) -> ColumnChoice:
    """Assign column roles: those named in ``overrides``, the others detected.

    Parameters
    ----------
    columns : list of str
        The file's column names.
    overrides : mapping of role to column name
        Columns the user named; ``None`` means detect, ``"none"`` (optional roles) means
        the catalog has no such column.
    frame : pandas.DataFrame, optional
        The file's rows. With them, candidates are checked by value: coordinates must
        be numbers or sexagesimal text, a redshift that holds magnitudes loses a tie,
        and an id column is used only when its values are unique.

    Raises
    ------
    ParameterError
        A named column that does not exist, ``none`` for a required role, or a
        required role with no candidate or with several of equal standing.
    """
    by_lower: dict[str, list[str]] = {}
    for name in map(str, columns):
        by_lower.setdefault(name.lower(), []).append(name)
    choice = ColumnChoice()
    turned_off: set[str] = set()
    for role in ROLES:
        wanted = overrides.get(role)
        if not wanted:
            continue
        if wanted.lower() == NO_COLUMN and wanted not in columns:
            if role in REQUIRED_ROLES:
                raise parameter_error(
                    ROLE_PARAMETERS[role], f"{{name}} cannot be {NO_COLUMN!r}: every spec-z "
                    f"needs its {role}; name the column with {{set}}COLUMN")
            turned_off.add(role)
            choice.reasons[role] = f"{NO_COLUMN}, as asked"
            continue
        if wanted not in columns:
            raise parameter_error(
                ROLE_PARAMETERS[role], f"{{name}} {wanted!r}: no such column; columns are: "
                f"{', '.join(map(str, columns))}")
        choice.roles[role] = wanted
        choice.reasons[role] = "named"
    _choose_ra_dec(choice, by_lower, columns, frame)
    _choose_z(choice, by_lower, columns, frame)
    for role in OPTIONAL_ROLES:
        if role not in choice.roles and role not in turned_off:
            _choose_optional(role, choice, by_lower, frame)
    choice.reasons = {role: choice.reasons[role] for role in ROLES if role in choice.reasons}
    return choice


def _present(by_lower: dict[str, list[str]], candidate: str, taken: set[str]) -> list[str]:
    return [name for name in by_lower.get(candidate, []) if name not in taken]


def _choose_ra_dec(choice: ColumnChoice, by_lower: dict[str, list[str]], columns: list[str],
                   frame: pd.DataFrame | None) -> None:
    roles = choice.roles
    if "ra" in roles and "dec" in roles:
        return
    taken = set(roles.values())

    def named_or_present(role: str, candidate: str) -> list[str]:
        if role in roles:
            return [roles[role]] if roles[role].lower() == candidate else []
        return _present(by_lower, candidate, taken)

    tiers = [(why, [(ra, dec) for pair_ra, pair_dec in pairs
                    for ra in named_or_present("ra", pair_ra)
                    for dec in named_or_present("dec", pair_dec)
                    if _usable_coordinates(frame, ra) and _usable_coordinates(frame, dec)])
             for why, pairs in names.RA_DEC_TIERS]
    found = [(why, pairs) for why, pairs in tiers if pairs]
    if not found and ("ra" in roles or "dec" in roles):
        missing = "dec" if "ra" in roles else "ra"
        _choose_single(missing, choice, by_lower, columns, frame)
        return
    if not found:
        missing = "dec" if _any_single(by_lower, "ra", taken) else "ra"
        raise parameter_error(
            ROLE_PARAMETERS[missing], f"no {missing} column found among: "
            f"{', '.join(map(str, columns))}; name it with {{set}}COLUMN")
    why, pairs = found[0]
    if len(pairs) > 1:
        listed = ", ".join(f"{ra}/{dec}" for ra, dec in pairs)
        raise ParameterError("ra_column", {
            "python": f"several column pairs could be RA/Dec ({listed}); choose them with "
                      "ra_column=COLUMN, dec_column=COLUMN",
            "cli": f"several column pairs could be RA/Dec ({listed}); choose them with "
                   "--ra COLUMN --dec COLUMN",
        })
    (ra, dec), = pairs
    for role, column in (("ra", ra), ("dec", dec)):
        if role not in roles:
            roles[role] = column
            choice.reasons[role] = f"{ra}/{dec}: {why}"
    others = [f"{a}/{b} ({reason})" for reason, pairs in found[1:] for a, b in pairs]
    if others:
        choice.notices.append(
            f"RA/Dec: {ra}/{dec} taken ({why}); also there: {', '.join(others)}; "
            "name others with --ra/--dec")


def _any_single(by_lower: dict[str, list[str]], role: str, taken: set[str]) -> bool:
    return any(_present(by_lower, name, taken) for name in ROLE_CANDIDATES[role])


def _choose_single(role: str, choice: ColumnChoice, by_lower: dict[str, list[str]],
                   columns: list[str], frame: pd.DataFrame | None) -> None:
    """RA or Dec alone (its partner was named): the first tier that has one name for it."""
    taken = set(choice.roles.values())
    side = 0 if role == "ra" else 1
    for why, pairs in names.RA_DEC_TIERS:
        present = list(dict.fromkeys(
            name for pair in pairs for name in _present(by_lower, pair[side], taken)
            if _usable_coordinates(frame, name)))
        if len(present) > 1:
            raise parameter_error(
                ROLE_PARAMETERS[role], f"several columns could be the {role} column "
                f"({', '.join(present)}); choose one with {{set}}COLUMN")
        if present:
            choice.roles[role] = present[0]
            choice.reasons[role] = f"{present[0]}: {why}"
            return
    raise parameter_error(
        ROLE_PARAMETERS[role], f"no {role} column found among: "
        f"{', '.join(map(str, columns))}; name it with {{set}}COLUMN")


def _choose_z(choice: ColumnChoice, by_lower: dict[str, list[str]], columns: list[str],
              frame: pd.DataFrame | None) -> None:
    if "z" in choice.roles:
        return
    taken = set(choice.roles.values())
    found = []
    for why, tier in names.Z_TIERS:
        present = [name for candidate in tier for name in _present(by_lower, candidate, taken)]
        if frame is not None and len(present) > 1:
            plausible = [name for name in present if _plausible_redshift(frame[name])]
            for name in sorted(set(present) - set(plausible)):
                choice.notices.append(
                    f"z: {name!r} holds magnitudes or text, not redshifts: not taken")
            present = plausible or present
        if present:
            found.append((why, present))
    if not found:
        raise parameter_error(
            "z_column", f"no z column found among: {', '.join(map(str, columns))}; "
            "name it with {set}COLUMN")
    why, present = found[0]
    if len(present) > 1:
        raise parameter_error(
            "z_column", f"several columns could be the z column ({', '.join(present)}, "
            f"each {why}); choose one with {{set}}COLUMN")
    chosen = present[0]
    choice.roles["z"] = chosen
    choice.reasons["z"] = f"{chosen}: {why}"
    others = [f"{name} ({reason})" for reason, more in found[1:] for name in more]
    if others:
        choice.notices.append(
            f"z: {chosen} taken ({why}); also there: {', '.join(others)}; name another "
            "with --z COLUMN")
    if chosen.lower() in names.Z_TIERS[-1][1]:
        note = names.BEST_Z_NOTE.replace("{set}", "--z ")
        choice.notices.append(f"z: {chosen} taken, the only redshift column: {note}")


def _choose_optional(role: str, choice: ColumnChoice, by_lower: dict[str, list[str]],
                     frame: pd.DataFrame | None) -> None:
    taken = set(choice.roles.values())
    candidates = ROLE_CANDIDATES[role]
    if role == "z_err":
        candidates = names.Z_ERR_FOR_Z.get(choice.roles["z"].lower(), ()) + candidates
    present = list(dict.fromkeys(
        name for candidate in candidates for name in _present(by_lower, candidate, taken)))
    if not present:
        choice.reasons[role] = "none found"
        return
    chosen = present[0]
    if role == "id" and frame is not None and not _unique_id(chosen, choice, frame,
                                                              by_lower):
        return
    choice.roles[role] = chosen
    choice.reasons[role] = f"{chosen}: a common {role} name"
    if len(present) > 1:
        choice.notices.append(
            f"{role}: {chosen} taken; also there: {', '.join(present[1:])}; name another "
            f"with --{role.replace('_', '-')} COLUMN")
    if role == "z_flag":
        note = names.FLAG_NOTES.get(chosen.lower())
        if frame is not None and _letter_grades(frame[chosen]):
            note = ("letter grades, A best, kept as they are; --z-flag-better lower makes "
                    "A win --unique ties")
        if note:
            choice.notices.append(f"z_flag: {chosen}: {note}")


def _unique_id(column: str, choice: ColumnChoice, frame: pd.DataFrame,
               by_lower: dict[str, list[str]]) -> bool:
    """True when ``column`` identifies each row; otherwise say so and key rows by number."""
    values = frame[column]
    repeated = values.duplicated(keep=False) & values.notna()
    missing = int(values.isna().sum())
    if not repeated.any() and not missing:
        return True
    if repeated.any():
        example = values[repeated].iloc[0]
        example = example.item() if hasattr(example, "item") else example
        problem = f"{int(repeated.sum())} rows share an id, e.g. {example!r}"
    else:
        problem = f"{missing} rows have no id"
    primary = next((name for candidate in names.PRIMARY_FLAG_NAMES
                    for name in by_lower.get(candidate, [])), None)
    hint = f"; to keep one spectrum per object, add --where '{primary}'" if primary else ""
    choice.reasons["id"] = f"none: {column} is not unique, rows keyed by {SPECZ_ROW_COLUMN}"
    choice.notices.append(
        f"id: {column} is not a unique id ({problem}), so the spec-z are keyed by "
        f"{SPECZ_ROW_COLUMN}, their row in the file; name a unique column with --id COLUMN"
        f"{hint}")
    return False


def _usable_coordinates(frame: pd.DataFrame | None, column: str) -> bool:
    """Numbers, or sexagesimal text; anything when the values are not known."""
    if frame is None:
        return True
    from pandas.api.types import is_numeric_dtype

    series = frame[column]
    if (is_numeric_dtype(series.dtype) and series.dtype.kind != "b") or not series.notna().any():
        return True
    from tsmaker.inputs.sexagesimal import looks_sexagesimal

    return looks_sexagesimal(series)


def _plausible_redshift(series: pd.Series) -> bool:
    """False for text, and for numbers that look like magnitudes (median above 8, or -9999)."""
    import numpy as np
    from pandas.api.types import is_numeric_dtype

    if not is_numeric_dtype(series.dtype) or series.dtype.kind == "b":
        return False
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values) & (np.abs(values) < 1e30)]
    return not len(finite) or not (np.median(finite) > 8 or np.any(finite <= -999))


def _letter_grades(series: pd.Series) -> bool:
    """True for text flags that are all letter grades (A, B, C, D, E, X)."""
    from pandas.api.types import is_numeric_dtype

    if is_numeric_dtype(series.dtype):
        return False
    values = series.dropna().astype(str).str.strip().str.upper()
    return bool(len(values)) and set(values.unique()) <= names.LETTER_GRADES


def column_candidates(columns: list[str], role: str, taken: Collection[str] = ()) -> list[str]:
    """The columns whose name is a common name of ``role`` (any case), not already taken.

    Examples
    --------
    >>> column_candidates(["RA", "Dec", "z", "qual"], "z_flag")
    ['qual']
    """
    by_lower: dict[str, list[str]] = {}
    for name in columns:
        by_lower.setdefault(str(name).lower(), []).append(str(name))
    return [
        name
        for candidate in ROLE_CANDIDATES[role]
        for name in by_lower.get(candidate, [])
        if name not in taken
    ]


@dataclass
class RedshiftCatalog:
    """A cleaned redshift catalog ready to be matched."""

    frame: pd.DataFrame
    """The file's columns plus ``specz_row``."""
    roles: dict[str, str]
    """Role -> column name."""
    report: dict[str, int] = field(default_factory=dict)
    """Rows read, and rows dropped or changed by each cleaning step."""
    units: dict[str, str] = field(default_factory=dict)
    """Column units from the file, where it had them."""
    notices: list[str] = field(default_factory=list)
    """What the column detection and the cleaning want the user to know."""

    @property
    def key_column(self) -> str:
        """The column identifying a spec-z: the id column, else ``specz_row``."""
        return self.roles.get("id", SPECZ_ROW_COLUMN)
