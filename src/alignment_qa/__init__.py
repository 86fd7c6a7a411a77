"""alignment-qa: citation-grounded question answering over a corpus of AI-alignment pages.

The package is split into small parts: ``ingest`` (files -> clean pages -> chunks), ``index``
(embeddings and the Chroma store), ``app`` (command line and, later, the web UI), ``prompts``
and ``eval``. Nothing is loaded or created at import time.
"""

__version__ = "0.1.0"
