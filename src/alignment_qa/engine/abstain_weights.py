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
    "bias": -2.365107,
    "weights": [-0.621252, -0.448741, -0.397625, 0.187321, 0.258318, 0.285804, 0.23607],
    "mean": [0.604102, 0.620388, 1.226193, 0.316169, 2.805161, 0.146245, 0.134387],
    "scale": [0.228763, 0.107716, 0.17971, 0.239974, 2.171932, 0.353352, 0.341068],
}
