"""The assistant a server answers with, swappable while it runs: ``AssistantSlot``.

Every surface of one server (HTTP API, OpenAI-compatible routes, chat page) reads ``slot.current``
at each request, so the chat page's Index tab can fill an empty server or swap in a fresh index for
all of them at once. ``NO_INDEX`` is what a surface says while the slot is empty. Building the
assistant is left to the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alignment_qa.engine.assistant import Assistant

NO_INDEX = (
    "There is no index yet: add pages in the Index tab of the chat page, or with `alignment-qa ingest PATH` "
    "(try sample-corpus/)."
)


class AssistantSlot:
    """The assistant a server answers with; ``current`` is ``None`` until there is an index."""

    def __init__(self, assistant: Assistant | None = None) -> None:
        self.current = assistant
