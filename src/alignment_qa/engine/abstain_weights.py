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
    "bias": -2.673208,
    "weights": [
        -0.411617,
        -0.387459,
        -0.4074,
        0.381892,
        0.449981,
        0.354828,
        0.259577,
    ],
    "mean": [
        0.629911,
        0.61943,
        1.243751,
        0.291741,
        2.612005,
        0.144,
        0.132,
    ],
    "scale": [
        0.223502,
        0.113319,
        0.170571,
        0.230663,
        2.171447,
        0.35109,
        0.338491,
    ],
}
