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
    "bias": -2.30426,
    "weights": [
        -0.609987,
        -0.439658,
        -0.416887,
        0.238797,
        0.240451,
        0.290116,
        0.237964,
    ],
    "mean": [
        0.613198,
        0.61837,
        1.230994,
        0.312702,
        2.788283,
        0.151751,
        0.140078,
    ],
    "scale": [
        0.231405,
        0.110599,
        0.177441,
        0.241387,
        2.175378,
        0.358779,
        0.347068,
    ],
}
