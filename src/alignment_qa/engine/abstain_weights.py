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
    "bias": -2.702701,
    "weights": [
        -0.477754,
        -0.403811,
        -0.465865,
        0.311522,
        0.38286,
        0.344722,
        0.301731,
    ],
    "mean": [
        0.626761,
        0.618476,
        1.241514,
        0.292706,
        2.619717,
        0.150198,
        0.134387,
    ],
    "scale": [
        0.224605,
        0.113255,
        0.171294,
        0.231253,
        2.174293,
        0.357265,
        0.341068,
    ],
}
