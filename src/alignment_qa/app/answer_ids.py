"""Answer ids: proof that an answer came from this server, so feedback cannot be forged.

An id is an HMAC-SHA256 of the answer's canonical JSON (every key but ``answer_id``, sorted)
under a per-server secret kept in ``store.data_dir/answer-key`` (created on first use, readable
by its owner only). Whoever holds the answer and its id can give feedback on it; a made-up or
edited answer does not verify. Storing the feedback is left to ``feedback``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from alignment_qa.errors import ConfigError

KEY_FILE = "answer-key"


def _canonical(answer: dict[str, Any]) -> bytes:
    body = {key: value for key, value in answer.items() if key != "answer_id"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class AnswerSigner:
    """Issues and checks answer ids under one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> AnswerSigner:
        """The signer whose secret is in ``data_dir`` (made there, mode 0600, if missing)."""
        path = data_dir / KEY_FILE
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_hex(32))
            secret = path.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read or create the answer key {path}: {exc.strerror or exc}") from exc
        if len(secret) < 32:
            raise ConfigError(f"the answer key {path} is too short; delete it and a new one is made")
        return cls(secret.encode())

    def issue(self, answer: dict[str, Any]) -> str:
        """The id of ``answer`` (its JSON form, as sent to the client)."""
        return hmac.new(self._secret, _canonical(answer), hashlib.sha256).hexdigest()

    def verify(self, answer: dict[str, Any]) -> bool:
        """Whether ``answer`` carries the id this server issued for exactly this answer."""
        given = answer.get("answer_id")
        return isinstance(given, str) and hmac.compare_digest(given, self.issue(answer))

    def signed(self, answer: dict[str, Any]) -> dict[str, Any]:
        """``answer`` with its ``answer_id``."""
        return {**answer, "answer_id": self.issue(answer)}
