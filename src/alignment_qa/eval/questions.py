"""The evaluation question file: one JSON object a line, read leniently.

Fields: ``id`` (string), ``question``, ``gold_pages`` (page ids relative to the corpus root),
``answerable`` (default true), ``key_facts`` (optional). Unknown fields are ignored. A malformed
line is reported with its line number and reason and skipped; the rest still run. Running the
questions is left to ``runner``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alignment_qa.errors import InputPathError


class EvalQuestion(BaseModel):
    """One question with what a good answer finds and says."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    gold_pages: list[str] = Field(default_factory=list)
    answerable: bool = True
    key_facts: list[str] = Field(default_factory=list)


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
