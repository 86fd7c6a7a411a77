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
    "bias": -2.785099,
    "weights": [
        -0.502157,
        -0.411157,
        -0.507544,
        0.357517,
        0.305152,
        0.203384,
        0.310432,
    ],
    "mean": [
        0.638088,
        0.620085,
        1.242572,
        0.281956,
        2.555041,
        0.133603,
        0.117409,
    ],
    "scale": [
        0.221616,
        0.1129,
        0.16237,
        0.22588,
        2.156073,
        0.340226,
        0.321907,
    ],
}
