"""Spectroscopic-redshift catalogs: column roles, reading, and the catalog a run matches.

Column roles
    ``ra``, ``dec`` (degrees), ``z``, and the optional ``z_err``, ``z_flag``, ``id``.
    They are detected from common names where exactly one candidate exists; otherwise
    the user names them (``--ra COL`` ...). The cleaning steps are in
    :mod:`tsmaker.inputs.cleaning`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tsmaker.columns import SPECZ_ROW_COLUMN
from tsmaker.parameters import parameter_error

if TYPE_CHECKING:
    import pandas as pd

ROLES: tuple[str, ...] = ("ra", "dec", "z", "z_err", "z_flag", "id")
REQUIRED_ROLES: tuple[str, ...] = ("ra", "dec", "z")
ROLE_PARAMETERS: dict[str, str] = {role: f"{role}_column" for role in ROLES}
"""Role -> the :class:`tsmaker.parameters.RunParameters` field that names its column."""

ROLE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "ra": ("ra", "ra_deg", "radeg", "target_ra", "alpha_j2000", "raj2000", "ra_j2000",
           "ra_icrs", "ra_obj", "alpha", "ra_gal", "ra_spec", "coord_ra"),
    "dec": ("dec", "dec_deg", "decdeg", "target_dec", "delta_j2000", "dej2000", "decj2000",
            "dec_j2000", "de_icrs", "dec_icrs", "dec_obj", "delta", "dec_gal", "dec_spec",
            "coord_dec"),
    "z": ("z", "z_spec", "zspec", "specz", "spec_z", "redshift", "z_best", "zbest",
          "z_helio", "zhelio", "z_cmb"),
    "z_err": ("z_err", "zerr", "z_error", "zerror", "e_z", "err_z", "z_spec_err",
              "zspec_err", "redshift_err", "sigma_z", "zsigma"),
    "z_flag": ("z_flag", "zflag", "qual", "quality", "qop", "z_qual", "zqual", "q_z",
               "flag_z", "zconf", "z_conf", "zwarning", "zwarn", "nq"),
    "id": ("id", "specz_id", "objid", "obj_id", "targetid", "target_id", "specobjid",
           "ozdes_id", "unique_id", "source_id", "galaxy_id", "cataid"),
}


def detect_columns(columns: list[str], overrides: Mapping[str, str | None]) -> dict[str, str]:
    """Assign column roles from explicit overrides, else from common names.

    Parameters
    ----------
    columns : list of str
        The file's column names.
    overrides : mapping of role to column name
        Columns the user named; ``None`` means detect.

    Returns
    -------
    dict of str to str
        Role -> column name, for every role that was found.

    Raises
    ------
    InputError
        When a named column does not exist, or a required role (ra, dec, z) has no
        candidate or several.
    """
    roles: dict[str, str] = {}
    for role in ROLES:
        wanted = overrides.get(role)
        if wanted:
            if wanted not in columns:
                raise parameter_error(
                    ROLE_PARAMETERS[role], f"{{name}} {wanted!r}: no such column; columns are: "
                    f"{', '.join(map(str, columns))}"
                )
            roles[role] = wanted
            continue
        candidates = column_candidates(columns, role, taken=set(roles.values()))
        if len(candidates) == 1:
            roles[role] = candidates[0]
        elif role in REQUIRED_ROLES:
            if candidates:
                raise parameter_error(
                    ROLE_PARAMETERS[role],
                    f"several columns could be the {role} column ({', '.join(candidates)}); "
                    "choose one with {set}COLUMN",
                )
            raise parameter_error(
                ROLE_PARAMETERS[role],
                f"no {role} column found among: {', '.join(map(str, columns))}; "
                "name it with {set}COLUMN",
            )
    return roles


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

    @property
    def key_column(self) -> str:
        """The column identifying a spec-z: the id column, else ``specz_row``."""
        return self.roles.get("id", SPECZ_ROW_COLUMN)
