"""The near-miss check's weights, fitted on the tune questions by scripts/fit_abstain.py (do not edit)."""

WEIGHTS: dict[str, object] = {
    "features": [
        "best_overlap",
        "best_cosine",
        "best_score",
        "missing_from_top_sentences",
        "missing_from_best_passage",
        "typed_question",
        "typed_found",
    ],
    "bias": -2.667767,
    "weights": [
        -0.456346,
        -0.466006,
        -0.453179,
        0.304928,
        0.366574,
        0.345935,
        0.290756,
    ],
    "mean": [
        0.625267,
        0.616946,
        1.241153,
        0.30011,
        2.660471,
        0.152941,
        0.141176,
    ],
    "scale": [
        0.224544,
        0.114743,
        0.171754,
        0.232332,
        2.147645,
        0.359931,
        0.348203,
    ],
}
