"""Redshift catalogs made by LIneA's Combine Redshift Catalogs (CRD) pipeline.

A CRD product stacks several spec-z surveys and resolves the repeated measurements of
a galaxy. Its columns (``CRD_ID, id, ra, dec, z, z_flag, z_err, instrument_type,
survey, source, tie_result, is_in_DP1_fields, is_in_rubin_footprint, compared_to,
group_id, z_flag_homogenized, instrument_type_homogenized``, ...) mean:

* ``CRD_ID``: a unique string id over the combined catalog (``id`` is the survey's own,
  unique only within it): the spec-z id;
* ``z_flag_homogenized``: the quality flag translated to one system, 0 (no redshift)
  to 4 (> 99% confidence), 6 for a star: the quality flag (higher is better);
* ``tie_result``: the duplicate resolution, 1 the measurement kept for its galaxy,
  0 one that lost to another, 2 an unresolved tie (several kept: no flag or instrument
  decides and their redshifts differ by more than 0.0005), 3 a star.

A file is recognised by its ``CRD_ID`` and ``z_flag_homogenized`` columns
(:func:`is_crd_catalog`); those two then take the id and quality-flag roles, and
``ra``, ``dec``, ``z``, ``z_err`` theirs (extra columns such as ``z_spec`` or ``zspec``,
kept from the input surveys, would otherwise make the detection ambiguous), unless the
user names others (:func:`crd_role_overrides`). Which rows a run keeps
(:func:`select_crd_rows`) is ``RunParameters.crd_duplicates``: ``keep-ties`` (default)
drops the losing duplicates and the stars and keeps the unresolved ties, with a notice;
``drop-ties`` also drops the ties (one measurement per galaxy, those the pipeline chose);
``keep-all`` keeps every row. Each count goes into the cleaning report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CRD_ID_COLUMN = "CRD_ID"
CRD_FLAG_COLUMN = "z_flag_homogenized"
CRD_TIE_COLUMN = "tie_result"
CRD_ROLES: dict[str, str] = {
    "ra": "ra", "dec": "dec", "z": "z", "z_err": "z_err", "z_flag": CRD_FLAG_COLUMN,
    "id": CRD_ID_COLUMN,
}
"""Role -> the CRD product's column."""
TIE_LOST, TIE_KEPT, TIE_UNRESOLVED, TIE_STAR = 0, 1, 2, 3
"""``tie_result`` values."""
STAR_FLAG = 6
"""``z_flag_homogenized`` of a star."""

CRD_NOTICES: dict[str, str] = {
    "crd_rows": "rows read as a Combine Redshift Catalogs product (id CRD_ID, quality flag "
    "z_flag_homogenized)",
    "dropped_crd_stars": "CRD stars dropped (tie_result 3 or z_flag_homogenized 6)",
    "dropped_crd_lost_duplicates": "CRD duplicates that lost their tie dropped (tie_result 0)",
    "dropped_crd_unresolved_ties": "CRD unresolved ties dropped (tie_result 2; "
    "--crd-duplicates drop-ties)",
    "kept_crd_unresolved_ties": "CRD unresolved ties kept (tie_result 2): several redshifts of "
    "one galaxy, the pipeline could not choose; drop them with --crd-duplicates drop-ties",
    "kept_crd_stars": "CRD stars kept (--crd-duplicates keep-all)",
    "kept_crd_lost_duplicates": "CRD duplicates that lost their tie kept (--crd-duplicates "
    "keep-all)",
}
"""Cleaning-report keys of this step -> the text of the notice that reports them."""


def is_crd_catalog(columns: Sequence[str]) -> bool:
    """True for the columns of a CRD product (``CRD_ID`` and ``z_flag_homogenized``).

    Examples
    --------
    >>> is_crd_catalog(["CRD_ID", "ra", "dec", "z", "z_flag_homogenized"])
    True
    >>> is_crd_catalog(["id", "ra", "dec", "z"])
    False
    """
    return CRD_ID_COLUMN in columns and CRD_FLAG_COLUMN in columns


def crd_role_overrides(
    columns: Sequence[str], overrides: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Column overrides with the CRD product's columns (:data:`CRD_ROLES`).

    A role the user named keeps the user's column.

    Examples
    --------
    >>> crd_role_overrides(["CRD_ID", "id", "z", "zspec", "z_flag", "z_flag_homogenized"],
    ...                    {"ra": "RA"})
    {'ra': 'RA', 'z': 'z', 'z_flag': 'z_flag_homogenized', 'id': 'CRD_ID'}
    >>> crd_role_overrides(["CRD_ID", "id", "z_flag_homogenized"], {"id": "id"})["id"]
    'id'
    >>> crd_role_overrides(["id"], {})
    {}
    """
    roles = dict(overrides)
    if is_crd_catalog(columns):
        for role, column in CRD_ROLES.items():
            if not roles.get(role) and column in columns:
                roles[role] = column
    return roles


def select_crd_rows(frame: pd.DataFrame, mode: str) -> tuple[np.ndarray, dict[str, int]]:
    """The rows a run keeps from a CRD product, and the count of each decision.

    Stars are rows with ``tie_result`` 3 or ``z_flag_homogenized`` 6 (a file combined
    without duplicate resolution has no ``tie_result``); a row is counted once, as a
    star before anything else. Missing ``tie_result`` values count as not compared.

    Parameters
    ----------
    frame : pandas.DataFrame
        The file's rows (with ``CRD_ID`` and ``z_flag_homogenized``).
    mode : str
        ``keep-ties``, ``drop-ties`` or ``keep-all``
        (:data:`tsmaker.parameters.CRD_DUPLICATE_CHOICES`).

    Returns
    -------
    numpy.ndarray of bool, dict of str to int
        The rows kept, and the counts keyed as :data:`CRD_NOTICES`.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"CRD_ID": list("abcdef"), "z_flag_homogenized": [4, 3, 6, 2, 4, 4],
    ...                       "tie_result": [1, 0, 3, 2, 2, 1]})
    >>> keep, counts = select_crd_rows(frame, "keep-ties")
    >>> keep.tolist(), counts
    ([True, False, False, True, True, True], {'crd_rows': 6, 'dropped_crd_stars': 1, \
'dropped_crd_lost_duplicates': 1, 'kept_crd_unresolved_ties': 2})
    >>> select_crd_rows(frame, "drop-ties")[0].tolist()
    [True, False, False, False, False, True]
    """
    import numpy as np
    import pandas as pd

    rows = len(frame)
    flag = pd.to_numeric(frame[CRD_FLAG_COLUMN], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan)
    if CRD_TIE_COLUMN in frame.columns:
        tie = pd.to_numeric(frame[CRD_TIE_COLUMN], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
    else:
        tie = np.full(rows, np.nan)
    star = (tie == TIE_STAR) | (flag == STAR_FLAG)
    lost = (tie == TIE_LOST) & ~star
    unresolved = (tie == TIE_UNRESOLVED) & ~star
    counts = {"crd_rows": rows}
    if mode == "keep-all":
        keep = np.ones(rows, dtype=bool)
        counts.update(kept_crd_stars=int(star.sum()), kept_crd_lost_duplicates=int(lost.sum()),
                      kept_crd_unresolved_ties=int(unresolved.sum()))
        return keep, counts
    keep = ~(star | lost)
    counts.update(dropped_crd_stars=int(star.sum()), dropped_crd_lost_duplicates=int(lost.sum()))
    if mode == "drop-ties":
        keep &= ~unresolved
        counts["dropped_crd_unresolved_ties"] = int(unresolved.sum())
    else:
        counts["kept_crd_unresolved_ties"] = int(unresolved.sum())
    return keep, counts
