"""Prompt templates for the LLM answer modes, shipped as package data.

Empty until the answering engine lands; templates will be plain text files next to this one,
loaded with ``importlib.resources`` so that a prompt change is a text diff.
"""
