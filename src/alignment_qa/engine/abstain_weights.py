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
    "bias": -2.340079,
    "weights": [
        -0.602629,
        -0.455809,
        -0.39349,
        0.228047,
        0.24663,
        0.289474,
        0.239145,
    ],
    "mean": [
        0.608792,
        0.621889,
        1.226957,
        0.31659,
        2.805161,
        0.146245,
        0.134387,
    ],
    "scale": [
        0.230321,
        0.107339,
        0.179439,
        0.240257,
        2.171932,
        0.353352,
        0.341068,
    ],
}
