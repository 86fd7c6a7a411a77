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
    "bias": -2.723563,
    "weights": [
        -0.472202,
        -0.391871,
        -0.447389,
        0.268578,
        0.396313,
        0.326304,
        0.333473,
    ],
    "mean": [
        0.627575,
        0.618118,
        1.241629,
        0.293007,
        2.615382,
        0.150198,
        0.130435,
    ],
    "scale": [
        0.227966,
        0.113454,
        0.168692,
        0.237417,
        2.170999,
        0.357265,
        0.336781,
    ],
}
