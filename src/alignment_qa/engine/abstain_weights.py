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
    "bias": -2.264133,
    "weights": [
        -0.517588,
        -0.496448,
        -0.412414,
        0.184571,
        0.254554,
        0.316126,
        0.274325,
    ],
    "mean": [
        0.614698,
        0.617409,
        1.230361,
        0.31149,
        2.80315,
        0.155039,
        0.143411,
    ],
    "scale": [
        0.232203,
        0.111454,
        0.177182,
        0.241701,
        2.179387,
        0.361942,
        0.350491,
    ],
}
