"""Checks on a lead-model file's contents before any of it is used.

skops builds only trusted types, but a trusted type can still carry values that its compiled
code uses without checking: a gradient-boosted tree whose child index points outside its node
array, or back up the tree, makes scikit-learn's prediction loop read past the array (a crash)
or walk for ever; a category code past 255 writes past a 256-bit set; a tree count of ten
million allocates gigabytes. A model file is written by whoever can write the workbook's
folder, so these values are checked here against the invariants scikit-learn's own training
keeps, and the metadata is bounded before it is parsed.

Everything here raises :class:`ValueError` with a short reason; the caller names the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

MAX_META_BYTES = 64 * 1024**2
"""The largest ``meta.json`` read: its lead ids and digests take ~40 bytes a closed lead."""
MAX_META_CONTAINERS = 10_000
"""Lists and objects in ``meta.json``: leadbook writes a few dozen, whatever the lead count."""
MAX_META_DEPTH = 8
MAX_OBJECTS = 200_000
"""Objects walked in an estimator: a 150-tree model of leadbook's is a few hundred."""

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')


def parse_meta(raw: bytes) -> Any:
    """``meta.json`` parsed, once its size, container count and nesting are known to be small.

    Examples
    --------
    >>> parse_meta(b'{"format": 2, "ids": ["a", "b"]}')
    {'format': 2, 'ids': ['a', 'b']}
    >>> parse_meta(b"[" * 20 + b"]" * 20)
    Traceback (most recent call last):
    ...
    ValueError: its metadata nests 20 deep, more than leadbook writes (8)
    """
    if len(raw) > MAX_META_BYTES:
        raise ValueError(f"its metadata is {len(raw):,} bytes, over {MAX_META_BYTES:,}")
    brackets = re.sub(rb"[^\[\]{}]", b"", _STRINGS.sub(b'""', raw))
    opened = brackets.count(b"[") + brackets.count(b"{")
    if opened > MAX_META_CONTAINERS:
        raise ValueError(
            f"its metadata holds {opened:,} lists and objects, more than leadbook writes"
        )
    depth = deepest = 0
    for char in brackets:
        depth += 1 if char in b"[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_META_DEPTH:
        raise ValueError(
            f"its metadata nests {deepest} deep, more than leadbook writes ({MAX_META_DEPTH})"
        )
    return json.loads(raw)


def check_estimator(estimator: Any, n_features: int) -> None:
    """Refuse an estimator whose boosted trees break the invariants their training keeps.

    ``n_features`` is the number of columns the model is given (``Source`` and the lead
    table's feature columns). Every ``HistGradientBoostingClassifier`` reachable from
    ``estimator`` is checked: its counts, its bin mapper's categories and each tree's nodes.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> x = np.arange(400.0).reshape(200, 2)
    >>> y = (x[:, 0] > 200).astype(int)
    >>> fitted = HistGradientBoostingClassifier(max_iter=3).fit(x, y)
    >>> check_estimator(fitted, 2)
    >>> fitted._predictors[0][0].nodes["left"][0] = 0
    >>> check_estimator(fitted, 2)
    Traceback (most recent call last):
    ...
    ValueError: tree 1 has a branch whose child is not below it
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    if getattr(estimator, "n_features_in_", None) != n_features:
        raise ValueError(f"it does not take the lead model's {n_features} columns")
    for boosted in _reachable(estimator, HistGradientBoostingClassifier):
        if "_predictors" in vars(boosted):  # unfitted templates hold no trees and never predict
            _check_boosted(boosted, n_features)


def _reachable(root: Any, kind: type) -> Iterator[Any]:
    """Instances of ``kind`` in the object graph under ``root`` (attributes and containers)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, str | bytes | int | float | np.ndarray):
            continue
        seen.add(id(obj))
        if len(seen) > MAX_OBJECTS:
            raise ValueError(f"it holds more than {MAX_OBJECTS:,} objects")
        if isinstance(obj, kind):
            yield obj
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())


def _check_boosted(model: Any, n_features: int) -> None:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    classes = np.asarray(getattr(model, "classes_", ()))
    if classes.shape != (2,) or getattr(model, "n_trees_per_iteration_", None) != 1:
        raise ValueError("its boosted model is not a two-class model with one tree a round")
    if model.n_features_in_ != n_features:
        raise ValueError(
            f"its boosted model takes {model.n_features_in_} columns, the lead model {n_features}"
        )
    baseline = np.asarray(model._baseline_prediction)
    if baseline.shape != (1, 1) or baseline.dtype != np.float64:
        raise ValueError("its boosted model's baseline is not one number")
    _check_preprocessor(model, n_features)
    categorical = _categorical(model, n_features)
    predictors = model._predictors
    if not isinstance(predictors, list) or len(predictors) > model.max_iter:
        raise ValueError("its boosted model has more rounds than it was set to train")
    for number, round_ in enumerate(predictors, start=1):
        if not isinstance(round_, list) or len(round_) != 1:
            raise ValueError(f"round {number} of its boosted model is not one tree")
        tree = round_[0]
        if type(tree) is not TreePredictor or tree.nodes.dtype != PREDICTOR_RECORD_DTYPE:
            raise ValueError(f"tree {number} is not a tree scikit-learn builds")
        _check_tree(tree, number, categorical)


def _categorical(model: Any, n_features: int) -> np.ndarray:
    """Which columns are categorical, after checking the categories fit a 256-bit set."""
    mapper = model._bin_mapper
    flags = np.asarray(mapper.is_categorical_)
    if flags.shape != (n_features,) or flags.dtype.kind not in "bu":
        raise ValueError("its bin mapper does not describe every column")
    if len(mapper.bin_thresholds_) != n_features:
        raise ValueError("its bin mapper does not describe every column")
    for column in np.flatnonzero(flags):
        codes = np.asarray(mapper.bin_thresholds_[column], dtype=float)
        if codes.ndim != 1 or not np.all((codes >= 0) & (codes < 256) & (codes == codes // 1)):
            raise ValueError(f"column {column + 1}'s categories are not codes from 0 to 255")
    # The model's own column transformer puts the categorical columns first.
    mine = getattr(model, "_is_categorical_remapped", None)
    if mine is not None and not np.array_equal(np.asarray(mine, dtype=bool), flags.astype(bool)):
        raise ValueError("its boosted model and its bin mapper disagree on the categories")
    return flags.astype(bool)


def _check_preprocessor(model: Any, n_features: int) -> None:
    """The boosted model's own column transformer hands its trees ``n_features`` columns.

    The trees index those columns without checking, so the transformer may only be the one
    scikit-learn makes: categories ordinal-encoded, numbers passed through ``check_array``.
    """
    from functools import partial

    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder
    from sklearn.utils.validation import check_array

    pre = getattr(model, "_preprocessor", None)
    if pre is None:
        return
    if type(pre) is not ColumnTransformer or getattr(pre, "sparse_output_", False):
        raise ValueError("its boosted model's column transformer is not one scikit-learn makes")
    width = 0
    for _name, step, columns in pre.transformers_:
        selected = np.asarray(columns)
        count = int(selected.sum()) if selected.dtype == bool else selected.size
        if isinstance(step, str) and step == "drop":
            continue
        if type(step) is OrdinalEncoder:
            if len(step.categories_) != count or step.n_features_in_ != count:
                raise ValueError("its boosted model's encoder does not match its columns")
        elif type(step) is FunctionTransformer:
            func = step.func
            if not (isinstance(func, partial) and func.func is check_array) or step.inverse_func:
                raise ValueError("its boosted model's column transformer runs a foreign step")
        else:
            raise ValueError("its boosted model's column transformer runs a foreign step")
        width += count
    if width != n_features:
        raise ValueError(
            f"its boosted model's column transformer makes {width} columns, not {n_features}"
        )


def _check_tree(tree: Any, number: int, categorical: np.ndarray) -> None:
    nodes = tree.nodes
    if nodes.ndim != 1 or len(nodes) == 0:
        raise ValueError(f"tree {number} has no nodes")
    if np.any(nodes["is_leaf"] > 1) or np.any(nodes["is_categorical"] > 1):
        raise ValueError(f"tree {number} has a node that is neither leaf nor branch")
    inner = np.flatnonzero(nodes["is_leaf"] == 0)
    left, right = nodes["left"][inner].astype(np.int64), nodes["right"][inner].astype(np.int64)
    # scikit-learn numbers a tree depth first: both children come after their parent, which
    # also rules out a cycle, so every walk from the root ends at a leaf.
    if np.any(left <= inner) or np.any(right <= inner):
        raise ValueError(f"tree {number} has a branch whose child is not below it")
    if np.any(left >= len(nodes)) or np.any(right >= len(nodes)):
        raise ValueError(f"tree {number} has a branch whose child is not in the tree")
    feature = nodes["feature_idx"][inner]
    if np.any(feature < 0) or np.any(feature >= len(categorical)):
        raise ValueError(f"tree {number} splits on a column the model does not have")
    split_on_category = nodes["is_categorical"][inner] == 1
    if np.any(categorical[feature] != split_on_category):
        raise ValueError(f"tree {number} splits a column as the kind it is not")
    bitsets = nodes["bitset_idx"][inner][split_on_category]
    for name in ("raw_left_cat_bitsets", "binned_left_cat_bitsets"):
        table = np.asarray(getattr(tree, name))
        if table.dtype != np.uint32 or table.ndim != 2 or table.shape[1] != 8:
            raise ValueError(f"tree {number}'s category sets are not 256-bit sets")
        if np.any(bitsets >= len(table)):
            raise ValueError(f"tree {number} names a category set it does not have")
