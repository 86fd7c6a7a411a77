"""An L2-penalised logistic regression fitted by Newton's method, in numpy, the standardising of its inputs, and
writing the fitted model as a Python module: the steps shared by scripts/fit_judge.py and scripts/fit_abstain.py.
Choosing the penalty and the cut is left to them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np


def fit_logistic(
    x: np.ndarray, y: np.ndarray, penalty: float, sample_weight: np.ndarray | None = None, steps: int = 50
) -> tuple[float, np.ndarray]:
    """Bias and weights of an L2-penalised logistic regression; the bias is not penalised."""
    design = np.hstack([np.ones((len(x), 1)), x])
    weight = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    theta = np.zeros(design.shape[1])
    ridge = penalty * np.eye(design.shape[1])
    ridge[0, 0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-design @ theta))
        gradient = design.T @ (weight * (p - y)) + ridge @ theta
        hessian = design.T @ (design * (weight * p * (1 - p))[:, None]) + ridge
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return float(theta[0]), theta[1:]


def standard_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation (1 for a column that does not vary)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean, scale


def weights_module(docstring: str, model: Mapping[str, object]) -> str:
    """``model`` as a Python module defining ``WEIGHTS``, laid out as ``ruff format`` leaves it."""
    lines = [f'"""{docstring}"""', "", "WEIGHTS: dict[str, object] = {"]
    for key, value in model.items():
        if isinstance(value, list):
            lines.append(f'    "{key}": [')
            lines.extend(f'        "{item}",' if isinstance(item, str) else f"        {item!r}," for item in value)
            lines.append("    ],")
        else:
            lines.append(f'    "{key}": {value!r},')
    return "\n".join([*lines, "}", ""])


def within_tolerance(shipped: Mapping[str, object], fitted: Mapping[str, object], tolerance: float) -> bool:
    """Whether ``fitted`` has ``shipped``'s features and each of its bias, weights, means and scales lies within
    ``tolerance`` of the shipped one (another CPU's rounding, or an approximate search, moves them a little)."""
    return shipped["features"] == fitted["features"] and all(
        np.allclose(np.asarray(shipped[key], dtype=float), np.asarray(fitted[key], dtype=float), atol=tolerance)
        for key in ("bias", "weights", "mean", "scale")
    )


def write_or_check(path: Path, text: str, check: bool, same: bool) -> int:
    """Write ``text`` to ``path``, or with ``check`` only say whether the shipped weights match (``same``, from
    ``within_tolerance``). The exit status: 1 for a mismatch, else 0."""
    if check:
        print("shipped weights match" if same else "shipped weights differ from a fresh fit")
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
