"""Stratified, shuffled K-fold splits: scikit-learn's ``StratifiedKFold(n, shuffle=True, random_state=seed)``.

The folds are those scikit-learn makes (its algorithm since version 0.22; a test holds the two equal), written
here so that ``icipredict train`` and ``update`` do not import scikit-learn, most of a command's start-up
time, and so that a seed gives the same folds whatever scikit-learn version is installed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np

__all__ = ["stratified_folds"]


def stratified_folds(labels, n_splits: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index arrays of ``n_splits`` folds, each holding every label in about the same share.

    Each label's patients are dealt to the folds in turn (the first folds take one more when they do not
    divide evenly), then each label's fold numbers are shuffled by ``numpy.random.RandomState(seed)``:
    the test folds of ``sklearn.model_selection.StratifiedKFold(n_splits, shuffle=True, random_state=seed)``.

    Raises
    ------
    ValueError
        More folds than patients, or than the patients of every label.

    Examples
    --------
    >>> [test.tolist() for _, test in stratified_folds([0, 0, 1, 1, 0, 1], 3, seed=0)]
    [[3, 4], [1, 5], [0, 2]]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels: expected one label per patient (a 1-D array). Got shape {labels.shape} instead.")
    n = len(labels)
    if n_splits > n:
        raise ValueError(f"Cannot have number of splits n_splits={n_splits} greater than the number of samples: "
                         f"n_samples={n}.")
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    _, order = np.unique(first, return_inverse=True)
    codes = order[inverse.reshape(-1)]  # labels numbered in order of first appearance
    counts = np.bincount(codes)
    if np.all(n_splits > counts):
        raise ValueError(f"n_splits={n_splits} cannot be greater than the number of members in each class.")
    if n_splits > counts.min():
        warnings.warn(f"The least populated class in y has only {counts.min()} members, which is less than "
                      f"n_splits={n_splits}.", UserWarning, stacklevel=2)
    dealt = np.sort(codes)
    allocation = np.asarray([np.bincount(dealt[i::n_splits], minlength=len(counts)) for i in range(n_splits)])
    rng = np.random.RandomState(seed)
    test_fold = np.empty(n, dtype="i")
    for k in range(len(counts)):
        folds = np.arange(n_splits).repeat(allocation[:, k])
        rng.shuffle(folds)
        test_fold[codes == k] = folds
    index = np.arange(n)
    for i in range(n_splits):
        test = test_fold == i
        yield index[~test], index[test]
