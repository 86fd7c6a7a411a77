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
    "bias": -2.342411,
    "weights": [-0.602201, -0.454767, -0.397693, 0.222837, 0.247814, 0.289922, 0.240107],
    "mean": [0.608792, 0.621889, 1.227314, 0.317426, 2.805161, 0.146245, 0.134387],
    "scale": [0.230321, 0.107339, 0.178719, 0.240152, 2.171932, 0.353352, 0.341068],
}
