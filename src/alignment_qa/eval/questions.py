"""The evaluation question file: one JSON object a line, read leniently.

Fields: ``id`` (string), ``question``, ``gold_pages`` (page ids relative to the corpus root),
``answerable`` (default true), ``key_facts`` (optional), ``kind`` (the kind of question, for the
breakdown), ``evidence`` (the sentences that answer it, copied from their page: ``{"page", "text"}``
objects or plain strings, which belong to the first gold page), ``history`` (earlier user turns of
a follow-up, oldest first) and ``split`` (``tune`` or ``test``). Unknown fields are ignored. A
malformed line is reported with its line number and reason and skipped; the rest still run.

The split is fixed by ``split_of``: the development questions (ids ``dev-...``) are ``tune``;
any other id is ``tune`` when the first byte of its SHA-256 is even, else ``test``. A stored
``split`` must agree with it. ``normalize_text`` is the text form in which evidence sentences are
compared with their pages (``scripts/check_questions.py``) and with answers (``metrics``).
Running the questions is left to ``runner``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alignment_qa.errors import InputPathError

Split = Literal["tune", "test"]
SPLITS: tuple[Split, ...] = ("tune", "test")
DEV_PREFIX = "dev-"  # the development questions written first: always tune

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
_MARKUP = [
    (re.compile(r"<[^>]+>"), " "),  # HTML tags
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"\[\^[^\]]*\]"), ""),  # footnote references
    (re.compile(r"\{:?[^}]*\}"), ""),  # attribute lists
    (re.compile(r"[*_`]+"), ""),  # emphasis and code marks
]


def normalize_text(text: str) -> str:
    """``text`` without markdown/HTML markup, with plain quotes and dashes and single spaces."""
    text = text.translate(_QUOTES).replace("\u00a0", " ")
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def split_of(question_id: str) -> Split:
    """The split a question belongs to, from its id alone (see the module docstring)."""
    if question_id.startswith(DEV_PREFIX):
        return "tune"
    return "tune" if hashlib.sha256(question_id.encode("utf-8")).digest()[0] % 2 == 0 else "test"


class Evidence(BaseModel):
    """A sentence that answers the question, as it stands on ``page`` (normalized text)."""

    model_config = ConfigDict(extra="ignore")

    page: str = ""
    text: str = Field(min_length=1)


class EvalQuestion(BaseModel):
    """One question with what a good answer finds and says."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    gold_pages: list[str] = Field(default_factory=list)
    answerable: bool = True
    key_facts: list[str] = Field(default_factory=list)
    kind: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)
    split: Split | None = None

    @field_validator("evidence", mode="before")
    @classmethod
    def _plain_evidence(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"text": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _checked(self) -> EvalQuestion:
        for item in self.evidence:
            if not item.page and self.gold_pages:
                item.page = self.gold_pages[0]
        expected = split_of(self.id)
        if self.split is not None and self.split != expected:
            raise ValueError(f"split is '{self.split}' but split_of('{self.id}') is '{expected}'")
        return self

    @property
    def split_name(self) -> Split:
        """The stored split, or the one ``split_of`` gives."""
        return self.split or split_of(self.id)


@dataclass
class QuestionFile:
    """The questions that parsed, and ``(line number, reason)`` for each line that did not."""

    path: Path
    questions: list[EvalQuestion] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def load_questions(path: Path) -> QuestionFile:
    """Read ``path``; ``InputPathError`` only when the file itself cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise InputPathError(f"question file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputPathError(f"cannot read question file {path}: {exc}") from exc
    result = QuestionFile(path)
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if isinstance(data.get("id"), int):
                data["id"] = str(data["id"])
            question = EvalQuestion.model_validate(data)
        except json.JSONDecodeError as exc:
            result.problems.append((number, f"not valid JSON ({exc.msg})"))
            continue
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            result.problems.append((number, f"{where}: {first['msg']}"))
            continue
        except ValueError as exc:
            result.problems.append((number, str(exc)))
            continue
        if question.id in seen:
            result.problems.append((number, f"duplicate id '{question.id}'"))
            continue
        seen.add(question.id)
        result.questions.append(question)
    return result
