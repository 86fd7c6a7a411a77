"""Discord replies against Discord's documented limits, and thread history read back from them.

Pure functions: the formatting never needs discord.py, but discord.py's own ``Embed`` is used to
count an embed's characters the way Discord does, so the limits are checked by a second opinion.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from alignment_qa.app.discord_bot.format import (
    EMBED_FIELDS,
    EMBED_TITLE_CHARS,
    EMBED_TOTAL_CHARS,
    EMBEDS_PER_MESSAGE,
    FIELD_NAME_CHARS,
    FIELD_VALUE_CHARS,
    FOOTER_CHARS,
    MESSAGE_CHARS,
    THREAD_NAME_CHARS,
    UNSUPPORTED,
    Reply,
    answer_replies,
    escape,
    thread_name,
)
from alignment_qa.app.discord_bot.history import SeenMessage, conversation, unescape
from alignment_qa.engine.answer import Answer

discord = pytest.importorskip("discord", reason="the discord extra is not installed (pip install -e .[discord])")

MARKER = re.compile(r"(?<!\\)\[(\d+)\]")


def _answer(sentences: list[tuple[str, list[int], bool]], n_sources: int = 3, **extra: Any) -> Answer:
    citations = [
        {
            "n": n,
            "page_id": f"wiki/page-{n}.md",
            "title": f"Page {n}",
            "section": f"Page {n} > Part",
            "anchor": "part",
            "url": "",
            "quote": f"Quote number {n} about reward hacking.",
            "start": 0,
            "end": 10,
        }
        for n in range(1, n_sources + 1)
    ]
    data: dict[str, Any] = {
        "question": "What is reward hacking?",
        "standalone_question": "What is reward hacking?",
        "text": " ".join(text for text, _, _ in sentences),
        "mode": "evidence",
        "citations": citations,
        "sentences": [
            {"text": text, "citations": cites, "supported": ok, "score": 0.9 if ok else 0.1}
            for text, cites, ok in sentences
        ],
        "judge": "support similarity (test)",
    }
    data.update(extra)
    return Answer.model_validate(data)


def _check_limits(replies: list[Reply]) -> None:
    for reply in replies:
        assert len(reply.content) <= MESSAGE_CHARS
        assert reply.content or reply.embeds  # Discord refuses an empty message
        assert len(reply.embeds) <= EMBEDS_PER_MESSAGE
        counted = 0
        for data in reply.embeds:
            embed = discord.Embed.from_dict(data)
            counted += len(embed)  # discord.py's count of what Discord limits to 6,000
            assert len(embed.title or "") <= EMBED_TITLE_CHARS
            assert len(embed.fields) <= EMBED_FIELDS
            assert len(embed.footer.text or "") <= FOOTER_CHARS
            for item in embed.fields:
                assert len(item.name or "") <= FIELD_NAME_CHARS and len(item.value or "") <= FIELD_VALUE_CHARS
        assert counted <= EMBED_TOTAL_CHARS


def _markers(replies: list[Reply]) -> list[int]:
    return [int(n) for reply in replies for n in MARKER.findall(reply.content)]


def test_long_answers_split_between_sentences_and_keep_every_citation() -> None:
    sentences = [
        (f"Sentence {i} explains one more aspect of reward hacking in some detail, " * 2, [i % 3 + 1], i % 7 != 3)
        for i in range(40)
    ]
    replies = answer_replies(_answer(sentences))
    _check_limits(replies)
    assert len(replies) >= 3
    assert _markers(replies) == [i % 3 + 1 for i in range(40)]  # every marker whole, in order
    for reply in replies:  # no message starts or ends inside a marker
        assert not re.search(r"\[\d*$", reply.content) and not re.match(r"^\d*\]", reply.content)
    flags = sum(reply.content.count(UNSUPPORTED) for reply in replies)
    assert flags == sum(1 for _, _, ok in sentences if not ok)
    assert replies[0].content.startswith("> What is reward hacking?")
    assert replies[-1].embeds and all(not reply.embeds for reply in replies[:-1])


def test_a_sentence_longer_than_a_message_keeps_its_markers_whole() -> None:
    giant = " ".join(f"word{i}" for i in range(900))  # about 7,000 characters
    replies = answer_replies(_answer([(giant, [1, 2], True), ("Short one.", [3], False)]))
    _check_limits(replies)
    assert len(replies) >= 4
    assert _markers(replies) == [1, 2, 3]
    giant_end = next(reply for reply in replies if "word899" in reply.content)
    assert re.search(r"word899 \[1\]\[2\]", giant_end.content)  # the markers stay with the sentence's end
    words = [w for reply in replies for w in reply.content.split() if w.startswith("word")]
    assert words == [f"word{i}" for i in range(900)]  # split between words, nothing lost


def test_many_long_sources_fit_the_embed_limits() -> None:
    answer = _answer([("A claim.", [1], True)], n_sources=30)
    for citation in answer.citations:
        citation.title = "T" * 400
        citation.section = "S " * 300
        citation.quote = "quote " * 600
    replies = answer_replies(answer)
    _check_limits(replies)
    names = [item["name"] for reply in replies for embed in reply.embeds for item in embed["fields"]]
    assert [int(re.match(r"\[(\d+)\]", name).group(1)) for name in names] == list(range(1, 31))  # type: ignore[union-attr]
    assert len(replies) >= 3  # 30 sources at about 1,300 characters each need several messages


def test_text_is_escaped_and_mass_mentions_defused() -> None:
    answer = _answer(
        [("- Models **can** hack [their](javascript:alert(1)) reward @everyone.", [1], True)],
        question="@here is `x` *really* # a thing?",
    )
    content = answer_replies(answer)[0].content
    assert "@\u200beveryone" in content and "@\u200bhere" in content
    assert "\\*\\*can\\*\\*" in content and "\\[their\\](javascript" in content and "\\`x\\`" in content
    assert "\n\\- Models" in content  # not a list item
    assert escape("see https://example.org/a_b_c, then") == "see <https://example.org/a_b_c>, then"  # links intact
    assert escape("[3] footnote") == "\\[3\\] footnote"  # the corpus's own brackets are not citations
    assert escape("3.4.3 Strategy A") == "3.4.3 Strategy A" and escape("3. x") == "3\\. x"


def test_unsupported_sentences_are_flagged_and_sources_linked() -> None:
    answer = _answer([("Supported.", [1], True), ("Not supported.", [2], False)])
    answer.citations[0].url = "https://example.org/reward"
    replies = answer_replies(answer, page_base_url="https://qa.example.org")
    assert f"Not supported. [2] {UNSUPPORTED}" in replies[0].content
    assert "Supported. [1]" in replies[0].content and replies[0].content.count(UNSUPPORTED) == 1
    fields = replies[0].embeds[0]["fields"]
    assert "https://example.org/reward#:~:text=Quote%20number%201" in fields[0]["value"]
    assert "https://qa.example.org/page/wiki/page-2.md#part" in fields[1]["value"]
    assert replies[0].embeds[0]["footer"]["text"] == "Checked by support similarity (test)"
    plain = answer_replies(answer)[0].embeds[0]["fields"][1]["value"]
    assert "`wiki/page-2.md`" in plain and "http" not in plain  # no server to link to: the page id


def test_not_covered_lists_the_nearest_pages() -> None:
    retrieved = [
        {"page_id": f"wiki/p{i}.md", "title": f"Near {i}", "section": "S", "score": 0.1, "rank": i}
        for i in (1, 2, 2, 3)
    ]
    answer = _answer(
        [],
        n_sources=0,
        covered=False,
        text="The indexed pages do not cover this question. The nearest pages are: Near 1; Near 2; Near 3.",
        retrieved=retrieved,
    )
    replies = answer_replies(answer, page_base_url="https://qa.example.org")
    _check_limits(replies)
    assert "do not cover this question" in replies[0].content
    assert "The nearest pages are" not in replies[0].content  # listed once, in the embed
    embed = replies[0].embeds[0]
    assert embed["title"] == "Nearest pages" and [f["name"] for f in embed["fields"]] == ["Near 1", "Near 2", "Near 3"]


def test_thread_names_fit() -> None:
    assert len(thread_name("why " * 100)) <= THREAD_NAME_CHARS
    assert thread_name("   ") == "Question"


def test_history_is_read_back_from_the_bots_own_answers() -> None:
    tricky = "and what about `x` and *y* > z in 1. place @everyone?"
    first = answer_replies(_answer([("Reward hacking is gaming the reward.", [1], True)]))
    second = answer_replies(_answer([("It is about x.", [2], False)], question=tricky))
    messages = [
        SeenMessage(True, first[0].content),
        SeenMessage(False, "I have a follow-up"),  # people talking in the thread
        SeenMessage(True, "Please wait 4 s before asking again."),  # a notice, not an answer
        *[SeenMessage(True, reply.content) for reply in second],
    ]
    turns = conversation(messages)
    assert [turn["role"] for turn in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[0]["content"] == "What is reward hacking?"
    assert turns[1]["content"] == "Reward hacking is gaming the reward."
    assert turns[2]["content"] == tricky  # escaping undone exactly
    assert turns[3]["content"] == "It is about x."  # markers and flags removed
    assert unescape(escape("1. a_b")) == "1. a_b"


def test_a_source_url_cannot_break_out_of_its_link() -> None:
    """Issue 11 item 5: a URL that reached the store with Markdown in it stays one link, no bold."""
    answer = _answer([("A claim.", [1], True)], n_sources=2)
    answer.citations[0].url = "https://good.example/x) **bold** [free nitro](https://evil.example/steal"
    answer.citations[1].url = "https://en.wikipedia.org/wiki/Alignment_(disambiguation)"
    fields = answer_replies(answer, page_base_url="https://qa.example.org")[0].embeds[0]["fields"]
    evil, wiki = fields[0]["value"], fields[1]["value"]
    links = re.findall(r"\[[^\]]*\]\(([^)]*)\)", evil)
    assert len(links) == 1 and evil.count("](") == 1  # one clickable link, the page id's
    assert "**" not in evil and " " not in links[0] and "(" not in links[0]
    assert links[0].startswith("https://good.example/x%29%20%2A%2Abold")  # percent-encoded, still one address
    assert "[wiki/page-2.md](https://en.wikipedia.org/wiki/Alignment_%28disambiguation%29#:~:text=" in wiki
    answer.citations[0].url = "javascript:alert(1)"  # not a web address: the /page view instead
    value = answer_replies(answer, page_base_url="https://qa.example.org/x) [y](https://evil.example")[0]
    page_link = value.embeds[0]["fields"][0]["value"]
    assert page_link.count("](") == 1 and "javascript" not in page_link and "%5By%5D%28" in page_link
