"""Train/test split: depends only on the key and the seed."""

import numpy as np
import pandas as pd

from tsmaker.science.split import training_flags, unit_hash


def test_fraction_is_met_within_statistical_tolerance():
    keys = np.arange(100_000, dtype=np.int64) * 7 + 3
    flags = training_flags(keys, 0.8, seed=1)
    # binomial sigma = sqrt(0.8*0.2/1e5) = 0.00126 ; allow 4 sigma
    assert abs(flags.mean() - 0.8) < 4 * 0.00126


def test_flags_do_not_depend_on_order_or_chunking():
    keys = np.arange(10_000, dtype=np.int64)
    whole = training_flags(keys, 0.7, seed=5)
    permutation = np.random.default_rng(0).permutation(len(keys))
    shuffled = training_flags(keys[permutation], 0.7, seed=5)
    assert (shuffled == whole[permutation]).all()
    chunks = np.concatenate([training_flags(part, 0.7, seed=5)
                             for part in np.array_split(keys, 13)])
    assert (chunks == whole).all()


def test_seed_changes_assignment_and_strings_work():
    keys = pd.Series([f"OZ-{i}" for i in range(5000)])
    a = training_flags(keys, 0.5, seed=1)
    b = training_flags(keys, 0.5, seed=2)
    assert (a != b).mean() > 0.3
    assert abs(a.mean() - 0.5) < 0.05
    assert (training_flags(keys, 0.5, seed=1) == a).all()


def test_unit_hash_range_and_uniformity():
    values = unit_hash(np.arange(50_000), seed=9)
    assert values.min() >= 0 and values.max() < 1
    histogram, _ = np.histogram(values, bins=10, range=(0, 1))
    assert histogram.min() > 4500 and histogram.max() < 5500
