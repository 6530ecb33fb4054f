"""Tree ensembles as flat numpy arrays: exact scoring and exact path-dependent TreeSHAP.

scikit-learn's `predict_proba` on one row costs milliseconds (input validation, a joblib call per
forest, OpenMP set-up for gradient boosting); walking every tree at once over flat node arrays costs
microseconds and gives the same numbers (same comparisons, same leaf values, same sums).

`shap_values` computes the Shapley values of TreeSHAP's path-dependent game (Lundberg et al.
2020, the values `shap.TreeExplainer(model).shap_values(X)` returns) leaf by leaf: a leaf's share
of E[f(x) | x_S] is `w * prod_{f in S} o_f * prod_{f not in S} z_f` over the distinct features
on its path (o_f: x follows the path at every split on f; z_f: product of the cover fractions of
those splits). The Shapley value of such a product game is closed-form through the coefficients
of prod_{j != f} (z_j + o_j t), computed for all leaves at once with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial
from typing import Any

import numpy as np


@dataclass(frozen=True)
class _Tree:
    feature: np.ndarray  # int64, -1 at leaves
    threshold: np.ndarray  # float64
    left: np.ndarray  # int64, self at leaves
    right: np.ndarray
    missing_left: np.ndarray  # bool: NaN goes left
    value: np.ndarray  # float64 leaf output (0 at internal nodes)
    cover: np.ndarray  # float64 training weight through each node


class TreeEnsemble:
    """Sum (or mean) of trees over float features; `output(X)` is the margin the model thresholds.

    `float32_inputs`: scikit-learn's CART trees compare float32(x) <= threshold.
    `divisor`: n_trees for forests (mean of leaf probabilities), 1 for boosting (sum of logits).
    """

    def __init__(
        self, trees: list[_Tree], base: float, divisor: float, float32_inputs: bool
    ) -> None:
        self.base = float(base)
        self.divisor = float(divisor)
        self.float32_inputs = float32_inputs
        self.n_trees = len(trees)
        offsets = np.cumsum([0] + [len(t.feature) for t in trees])
        self.roots = offsets[:-1].astype(np.int64)
        cat = np.concatenate
        self.feature = cat([t.feature for t in trees])
        self.threshold = cat([t.threshold for t in trees])
        self.left = cat([t.left + o for t, o in zip(trees, self.roots, strict=True)])
        self.right = cat([t.right + o for t, o in zip(trees, self.roots, strict=True)])
        self.missing_left = cat([t.missing_left for t in trees])
        self.value = cat([t.value for t in trees])
        self.is_leaf = self.feature < 0
        self.safe_feature = np.where(self.is_leaf, 0, self.feature)
        self.depth = max(_depth(t) for t in trees)
        self._paths = _LeafPaths(trees, self.roots, self.divisor)

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return X.astype(np.float32).astype(np.float64) if self.float32_inputs else X

    def _goes_left(self, X: np.ndarray, nodes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        x = X[rows, self.safe_feature[nodes]]
        return np.where(np.isnan(x), self.missing_left[nodes], x <= self.threshold[nodes])

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """Leaf index (global) of every row in every tree, shape (n_rows, n_trees)."""
        X = self._inputs(X)
        nodes = np.broadcast_to(self.roots, (X.shape[0], self.n_trees)).copy()
        rows = np.arange(X.shape[0])[:, None]
        for _ in range(self.depth):
            left = self._goes_left(X, nodes, rows)
            nodes = np.where(left, self.left[nodes], self.right[nodes])
        return nodes

    def output(self, X: np.ndarray) -> np.ndarray:
        """base + (sum over trees of the leaf values) / divisor."""
        total = self.value[self.leaves(X)].sum(axis=1)
        return self.base + total / self.divisor if self.divisor != 1.0 else self.base + total

    def shap_values(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """(expected output, per-column Shapley values) for one row; they add up to output(x)."""
        xi = self._inputs(x.reshape(1, -1))[0]
        return self.base + self._paths.expected, self._paths.shapley(xi, self)


def _depth(tree: _Tree) -> int:
    depth = np.zeros(len(tree.feature), dtype=np.int64)
    for node in range(len(tree.feature)):  # children come after parents in both layouts
        if tree.feature[node] >= 0:
            depth[tree.left[node]] = depth[tree.right[node]] = depth[node] + 1
    return int(depth.max())


class _LeafPaths:
    """Every leaf's root path, grouped into distinct-feature slots, padded to `slots` per leaf."""

    def __init__(self, trees: list[_Tree], roots: np.ndarray, divisor: float) -> None:
        entry_node: list[int] = []  # global internal node of each (leaf, slot, split) entry
        entry_left: list[bool] = []  # the path goes left there
        entry_slot: list[int] = []  # flat slot index (leaf * slots + slot)
        leaf_value: list[float] = []
        leaf_z: list[list[float]] = []
        leaf_feature: list[list[int]] = []
        per_leaf: list[list[tuple[int, int, bool, float]]] = []  # (global node, feature, left, r)
        for tree, offset in zip(trees, roots, strict=True):
            stack: list[tuple[int, list[tuple[int, int, bool, float]]]] = [(0, [])]
            while stack:
                node, path = stack.pop()
                feat = int(tree.feature[node])
                if feat < 0:
                    per_leaf.append(path)
                    leaf_value.append(float(tree.value[node]) / divisor)
                    continue
                for child, left in ((int(tree.left[node]), True), (int(tree.right[node]), False)):
                    ratio = float(tree.cover[child] / tree.cover[node])
                    stack.append((child, [*path, (int(offset) + node, feat, left, ratio)]))
        slots = max((len({f for _, f, _, _ in p}) for p in per_leaf), default=1) or 1
        for i, path in enumerate(per_leaf):
            features: list[int] = []
            z: list[float] = []
            for node, feat, left, ratio in path:
                if feat not in features:
                    features.append(feat)
                    z.append(1.0)
                k = features.index(feat)
                z[k] *= ratio
                entry_node.append(node)
                entry_left.append(left)
                entry_slot.append(i * slots + k)
            leaf_feature.append(features + [-1] * (slots - len(features)))
            leaf_z.append(z + [1.0] * (slots - len(z)))
        self.slots = slots
        self.n_leaves = len(per_leaf)
        self.value = np.asarray(leaf_value, dtype=np.float64)
        self.z = np.asarray(leaf_z, dtype=np.float64)
        self.feature = np.asarray(leaf_feature, dtype=np.int64)
        self.entry_node = np.asarray(entry_node, dtype=np.int64)
        self.entry_left = np.asarray(entry_left, dtype=bool)
        self.entry_slot = np.asarray(entry_slot, dtype=np.int64)
        # E[f] under the path-dependent game: every leaf weighted by its cover fraction
        self.expected = float(self.value @ np.prod(self.z, axis=1))
        # Shapley weight of a coalition of size k among `slots` players
        self.weights = np.array(
            [factorial(k) * factorial(slots - 1 - k) / factorial(slots) for k in range(slots)]
        )

    def shapley(self, x: np.ndarray, ens: TreeEnsemble) -> np.ndarray:
        nodes = self.entry_node
        x_at = x[ens.safe_feature[nodes]]
        goes_left = np.where(np.isnan(x_at), ens.missing_left[nodes], x_at <= ens.threshold[nodes])
        fails = goes_left != self.entry_left
        n_fail = np.bincount(self.entry_slot, weights=fails, minlength=self.n_leaves * self.slots)
        o = (n_fail.reshape(self.n_leaves, self.slots) == 0).astype(np.float64)
        o[self.feature < 0] = 1.0  # padding: null players (z = o = 1)
        z = self.z
        d = self.slots
        # P(t) = prod_j (z_j + o_j t), coefficients by degree
        poly = np.zeros((self.n_leaves, d + 1))
        poly[:, 0] = 1.0
        for j in range(d):
            shifted = np.zeros_like(poly)
            shifted[:, 1:] = poly[:, :-1] * o[:, j : j + 1]
            poly = poly * z[:, j : j + 1] + shifted
        # Q_i(t) = P(t) / (z_i + o_i t) for every slot i: (leaves, slots, d) coefficients
        q = np.empty((self.n_leaves, d, d))
        q[:, :, d - 1] = poly[:, None, d]
        for k in range(d - 1, 0, -1):
            q[:, :, k - 1] = poly[:, None, k] - z * q[:, :, k]
        divided = poly[:, None, :d] / z[:, :, None]
        q = np.where(o[:, :, None] == 1.0, q, divided)
        phi = self.value[:, None] * (o - z) * (q @ self.weights)
        mask = self.feature >= 0
        return np.bincount(self.feature[mask], weights=phi[mask], minlength=x.shape[0])


def _sklearn_tree(tree: Any) -> _Tree:
    """A fitted `sklearn.tree._tree.Tree` of a binary classifier: leaf value = P(class 1)."""
    leaf = tree.children_left < 0
    node_ids = np.arange(tree.node_count)
    counts = tree.value[:, 0, :]
    totals = counts.sum(axis=1)
    proba = counts[:, 1] / np.where(totals == 0, 1.0, totals)
    return _Tree(
        feature=np.where(leaf, -1, tree.feature).astype(np.int64),
        threshold=np.asarray(tree.threshold, dtype=np.float64),
        left=np.where(leaf, node_ids, tree.children_left).astype(np.int64),
        right=np.where(leaf, node_ids, tree.children_right).astype(np.int64),
        missing_left=np.asarray(tree.missing_go_to_left, dtype=bool),
        value=np.where(leaf, proba, 0.0),
        cover=np.asarray(tree.weighted_n_node_samples, dtype=np.float64),
    )


def _hgb_tree(nodes: np.ndarray) -> _Tree:
    leaf = nodes["is_leaf"].astype(bool)
    node_ids = np.arange(len(nodes))
    return _Tree(
        feature=np.where(leaf, -1, nodes["feature_idx"]).astype(np.int64),
        threshold=nodes["num_threshold"].astype(np.float64),
        left=np.where(leaf, node_ids, nodes["left"]).astype(np.int64),
        right=np.where(leaf, node_ids, nodes["right"]).astype(np.int64),
        missing_left=nodes["missing_go_to_left"].astype(bool),
        value=np.where(leaf, nodes["value"], 0.0).astype(np.float64),
        cover=nodes["count"].astype(np.float64),
    )


def from_forest(forest: Any) -> TreeEnsemble | None:
    """A binary RandomForest/ExtraTrees classifier: output = P(class 1) (mean of the trees)."""
    if len(forest.classes_) != 2 or any(e.tree_.n_outputs != 1 for e in forest.estimators_):
        return None
    trees = [_sklearn_tree(e.tree_) for e in forest.estimators_]
    return TreeEnsemble(trees, base=0.0, divisor=len(trees), float32_inputs=True)


def from_hist_gradient_boosting(model: Any) -> TreeEnsemble | None:
    """A binary HistGradientBoostingClassifier on numeric features: output = log-odds."""
    predictors = model._predictors
    if len(model.classes_) != 2 or any(len(p) != 1 for p in predictors):
        return None
    if any(p[0].nodes["is_categorical"].any() for p in predictors):
        return None
    trees = [_hgb_tree(p[0].nodes) for p in predictors]
    base = float(np.asarray(model._baseline_prediction).reshape(-1)[0])
    return TreeEnsemble(trees, base=base, divisor=1.0, float32_inputs=False)
