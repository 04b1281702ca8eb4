"""Train/test split that depends only on each spec-z's identity and the seed.

Each spec-z key (its id, or ``specz_row``) is hashed together with the seed into a
number u in [0, 1); the row is training when u < fraction. The flag therefore does
not depend on partitioning, number of workers or row order, and all matches of one
spec-z share it. Integers use the SplitMix64 finaliser (vectorised); other keys
(strings) use BLAKE2b of their UTF-8 text keyed by the seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

_MASK64 = (1 << 64) - 1


def unit_hash(keys: ArrayLike, seed: int) -> np.ndarray:
    """A number in [0, 1) per key, uniform and reproducible for a given seed.

    Examples
    --------
    >>> import numpy as np
    >>> values = unit_hash(np.arange(5), seed=1)
    >>> bool(((values >= 0) & (values < 1)).all())
    True
    """
    import numpy as np
    import pandas as pd

    series = pd.Series(keys)
    if series.dtype.kind in "iub" or str(series.dtype).startswith(("int", "uint")):
        values = series.to_numpy(dtype=np.int64).view(np.uint64)
        with np.errstate(over="ignore"):
            mixed = _splitmix64(values ^ np.uint64(_splitmix64_scalar(seed)))
        return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    import hashlib

    key = int(seed).to_bytes(8, "little", signed=True)
    digests = [
        int.from_bytes(hashlib.blake2b(str(k).encode("utf-8"), digest_size=8, key=key).digest(),
                       "little") >> 11
        for k in series.tolist()
    ]
    return np.asarray(digests, dtype=np.float64) / float(1 << 53)


def training_flags(keys: ArrayLike, fraction: float, seed: int) -> np.ndarray:
    """Boolean ``is_training`` per key: True for about ``fraction`` of the keys."""
    import numpy as np

    return np.asarray(unit_hash(keys, seed) < fraction, dtype=bool)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    import numpy as np

    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _splitmix64_scalar(seed: int) -> int:
    z = (int(seed) + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)
