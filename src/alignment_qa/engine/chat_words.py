"""Words of chat and spoken English that say nothing about what a question asks.

``CHAT_SPELLINGS`` are contractions typed without the apostrophe ("whats", "hows"): no page has them, yet they
are neither typos nor names. ``CASUAL_WORDS`` are words formal pages seldom use, so they look rare ("got",
"stuff"), though they ask for nothing. Which checks skip them is left to ``spelling``, ``abstain`` and
``answerability``.
"""

from __future__ import annotations

CHAT_SPELLINGS = frozenset(
    "doesnt didnt havent hasnt wouldnt shouldnt couldnt arent isnt wasnt werent theyre youre whats thats hows whos "
    "wheres whens whys wats wat im ive dont cant wont idk tbh imo lol pls plz thx".split()
)
CASUAL_WORDS = frozenset(
    "get gets got gotten getting gonna wanna gotta kinda sorta stuff thing things guy guys basically actually "
    "really lot lots okay ok pretty anyway".split()
)
