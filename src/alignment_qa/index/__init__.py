"""Vectors and storage: the embedding model (``embedder``), the store interface (``store_api``), its Chroma
implementation (``store``) and the keyword index derived from it (``keyword``)."""
