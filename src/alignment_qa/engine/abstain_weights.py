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
    "bias": -2.527062,
    "weights": [
        -0.548781,
        -0.444449,
        -0.334325,
        0.340681,
        0.361745,
        0.314613,
        0.240636,
    ],
    "mean": [
        0.613116,
        0.618007,
        1.228708,
        0.317,
        2.790329,
        0.14902,
        0.137255,
    ],
    "scale": [
        0.231844,
        0.112746,
        0.178298,
        0.248216,
        2.173155,
        0.356108,
        0.344116,
    ],
}
