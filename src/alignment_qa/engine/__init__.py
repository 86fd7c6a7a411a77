"""The answering engine: hybrid retrieval, answer writing and citation checking.

``Assistant`` (in ``assistant``) is the entry point; the other modules are its parts.
"""
