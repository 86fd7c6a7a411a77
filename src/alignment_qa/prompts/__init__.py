"""Prompt templates for the LLM answer modes, shipped as package data.

Templates are plain text files next to this module (a prompt change is a text diff), filled
with ``str.format``: ``answer_system.txt`` (the rules), ``answer_user.txt`` (``{sources}``,
``{question}``) and ``condense.txt`` (``{history}``, ``{question}``). Choosing and calling a
model is left to the engine.
"""

from __future__ import annotations

from importlib.resources import files


def load_prompt(name: str) -> str:
    """The text of the prompt file ``name`` (without ``.txt``)."""
    return files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
