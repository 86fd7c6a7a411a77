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
    "bias": -2.772451,
    "weights": [
        -0.460836,
        -0.377107,
        -0.45699,
        0.315961,
        0.357868,
        0.428816,
        0.221313,
    ],
    "mean": [
        0.631429,
        0.618325,
        1.237702,
        0.287789,
        2.599376,
        0.150794,
        0.123016,
    ],
    "scale": [
        0.223638,
        0.112647,
        0.165115,
        0.225628,
        2.162692,
        0.357848,
        0.328455,
    ],
}
