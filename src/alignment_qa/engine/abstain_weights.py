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
    "bias": -2.651214,
    "weights": [
        -0.465299,
        -0.396212,
        -0.441363,
        0.294785,
        0.39063,
        0.345148,
        0.309822,
    ],
    "mean": [
        0.625027,
        0.6178,
        1.239263,
        0.292219,
        2.609448,
        0.150794,
        0.134921,
    ],
    "scale": [
        0.226837,
        0.112943,
        0.169629,
        0.231227,
        2.173211,
        0.357848,
        0.341639,
    ],
}
