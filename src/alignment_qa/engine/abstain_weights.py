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
    "bias": -2.698645,
    "weights": [
        -0.478737,
        -0.399591,
        -0.44903,
        0.33114,
        0.380249,
        0.366605,
        0.302795,
    ],
    "mean": [
        0.626369,
        0.61866,
        1.242923,
        0.294106,
        2.617394,
        0.150198,
        0.13834,
    ],
    "scale": [
        0.224985,
        0.113739,
        0.171362,
        0.231014,
        2.171996,
        0.357265,
        0.345256,
    ],
}
