"""The package's stratified folds are scikit-learn's: the same test folds for the same labels, folds and seed."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icipredict.fitting.folds import stratified_folds


def _sklearn(labels, n_splits, seed):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels)


def _outcome(splits) -> tuple[object, list[str]]:
    """The (train, test) lists of ``splits`` (or the ValueError's type) and the warnings they raise."""
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            folds = [(tr.tolist(), te.tolist()) for tr, te in splits]
        except ValueError as exc:
            folds = type(exc)
    return folds, [str(w.message) for w in warned]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 2, "a", "b"]), min_size=2, max_size=200), st.integers(2, 7),
       st.integers(0, 2**31 - 1), st.booleans())
def test_same_folds_as_scikit_learn(raw, n_splits, seed, text):
    codes = {0: 0.0, 1: 1.0, 2: 2.0, "a": 0.0, "b": 1.0}
    labels = np.array([str(v) for v in raw], dtype=object) if text else np.array([codes[v] for v in raw])
    assert _outcome(stratified_folds(labels, n_splits, seed)) == _outcome(_sklearn(labels, n_splits, seed))


def test_each_patient_is_tested_once_and_labels_are_spread():
    labels = np.repeat([0, 1], [70, 30])
    tests = [te for _, te in stratified_folds(labels, 5, seed=3)]
    assert sorted(np.concatenate(tests).tolist()) == list(range(100))
    assert [int(labels[te].sum()) for te in tests] == [6] * 5


def test_more_folds_than_patients_is_refused():
    with pytest.raises(ValueError, match="greater than the number of samples"):
        list(stratified_folds([0, 1], 3, seed=0))


def test_train_and_update_commands_do_not_import_scikit_learn():
    """Its import (with scipy.stats) was most of ``icipredict train``'s and ``update``'s start-up."""
    code = ("import sys, icipredict.cli.fit, icipredict.fitting.training, icipredict.fitting.updating; "
            "print(sorted(m for m in ('sklearn', 'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
