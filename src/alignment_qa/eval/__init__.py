"""Offline evaluation of retrieval and cited answers. Not implemented yet (see the issues)."""
