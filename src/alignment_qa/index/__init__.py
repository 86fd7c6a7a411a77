"""Vectors and storage: the embedding model (``embedder``) and the Chroma store (``store``)."""
