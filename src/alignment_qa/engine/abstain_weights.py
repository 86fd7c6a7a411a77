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
    "bias": -2.674726,
    "weights": [
        -0.451191,
        -0.465807,
        -0.451,
        0.318109,
        0.367506,
        0.345579,
        0.289856,
    ],
    "mean": [
        0.625267,
        0.617078,
        1.241278,
        0.294559,
        2.612842,
        0.152941,
        0.141176,
    ],
    "scale": [
        0.224544,
        0.114758,
        0.17166,
        0.230422,
        2.154457,
        0.359931,
        0.348203,
    ],
}
