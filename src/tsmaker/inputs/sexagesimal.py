"""Coordinates written as sexagesimal text (2dFGRS, the 6dFGS ASCII release): to degrees.

RA is read as hours (``hh mm ss.ss`` or ``hh:mm:ss.ss``), Dec as degrees
(``±dd mm ss.s``); fields may be separated by spaces, colons or the letters h/m/s and
d/m/s. A value that does not parse becomes NaN (and is dropped with the rows without
coordinates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

_PATTERN = (r"^\s*(?P<sign>[+-]?)\s*(?P<a>\d{1,3})\s*[\s:hHdD°]\s*(?P<b>\d{1,2})\s*"
            r"[\s:mM']\s*(?P<c>\d{1,2}(?:\.\d*)?)\s*[sS\"]?\s*$")
_SAMPLE_ROWS = 100


def looks_sexagesimal(series: pd.Series) -> bool:
    """True when the first non-missing values of a text column are sexagesimal.

    Examples
    --------
    >>> import pandas as pd
    >>> looks_sexagesimal(pd.Series([" 20:58:00.58", None])), looks_sexagesimal(
    ...     pd.Series(["a", "b"]))
    (True, False)
    """
    sample = series.dropna().head(_SAMPLE_ROWS)
    if not len(sample) or not all(isinstance(value, str) for value in sample):
        return False
    return bool(sample.str.match(_PATTERN).all())


def sexagesimal_to_degrees(series: pd.Series, *, hours: bool) -> pd.Series:
    """Sexagesimal text as degrees (RA in hours when ``hours``); NaN where it does not parse.

    Examples
    --------
    >>> import pandas as pd
    >>> sexagesimal_to_degrees(pd.Series(["00 16 40.52", "23:59:59.9"]), hours=True).round(6)
    0      4.168833
    1    359.999583
    dtype: float64
    >>> sexagesimal_to_degrees(pd.Series(["-53:28:47.3", "+00 30 00"]), hours=False).round(6)
    0   -53.479806
    1     0.500000
    dtype: float64
    """
    import numpy as np

    parts = series.astype("str").str.extract(_PATTERN)
    whole = parts["a"].astype("float64")
    minutes = parts["b"].astype("float64")
    seconds = parts["c"].astype("float64")
    value = whole + minutes / 60.0 + seconds / 3600.0
    value = value.where(parts["sign"] != "-", -value)
    return (value * (15.0 if hours else 1.0)).astype(np.float64)
