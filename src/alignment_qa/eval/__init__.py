"""Offline evaluation (``alignment-qa eval``): retrieval, citation, faithfulness and abstention scores.

``questions`` reads the question file, ``runner`` answers and scores each question with the real
``Assistant``, ``metrics`` holds the formulas, ``calibration`` measures the judge against the
shipped hand labels, ``summary`` aggregates with bootstrap intervals, ``report`` and ``charts``
write the files, and ``evaluate`` ties one run together.
"""
