"""--where: a safe expression language over columns."""

import numpy as np
import pandas as pd
import pytest

from tsmaker.errors import InputError
from tsmaker.inputs.filters import evaluate_where

FRAME = pd.DataFrame({
    "z": [0.1, -1.0, 0.5, 2.0, np.nan],
    "z_flag": pd.array([4, 4, 2, 3, None], dtype="Int64"),
    "survey": ["DESI", "2dF", "DESI", "OzDES", None],
})


@pytest.mark.parametrize(("expression", "expected"), [
    ("z_flag >= 3 and z > 0", [True, False, False, True, False]),
    ("(z_flag >= 3) & (z > 0)", [True, False, False, True, False]),
    ("not z > 0.3", [True, True, False, False, True]),
    ("z_flag in [2, 3]", [False, False, True, True, False]),
    ("survey == 'DESI' or z > 1.5", [True, False, True, True, False]),
    ("0 < z <= 0.5", [True, False, True, False, False]),
    ("z * 2 > 0.9", [False, False, True, True, False]),
    ("survey not in ['DESI']", [False, True, False, True, True]),
])
def test_expressions(expression, expected):
    assert evaluate_where(expression, FRAME).tolist() == expected


@pytest.mark.parametrize(("expression", "message"), [
    ("z >", "is not a valid expression"),
    ("zz > 1", "names unknown column 'zz'"),
    ("__import__('os').system('echo hi')", "uses Call"),
    ("z.real > 1", "uses Attribute"),
    ("z[0] > 1", "uses Subscript"),
    ("lambda: 1", "uses Lambda"),
    ("z + 1", "does not give True/False"),
])
def test_bad_expressions_are_refused(expression, message):
    with pytest.raises(InputError, match=message):
        evaluate_where(expression, FRAME)
