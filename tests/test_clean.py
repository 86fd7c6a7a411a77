"""Cleaning keeps content, drops noise, and finds titles, metadata and sections."""

from __future__ import annotations

import pytest

from alignment_qa.ingest.clean import clean_page, slugify, url_problem
from conftest import SAMPLE_CORPUS

MKDOCS = """# 6.4 Learning from imitation
<div class="section-meta">
    <div class="meta-item">
        <div class="meta-label">Reading Time</div>
        <div class="meta-value">12 min</div>
    </div>
</div>

Intro text about imitation.[^1]

## 6.4.1 Imitation Learning (IL) {: #01}

!!! info "Definition: Imitation Learning"



    Imitation learning learns by watching an **expert**.



<figure markdown="span">
![Enter image alt description](Images/q7l_Image_10.png){ loading=lazy }
  <figcaption markdown="1"><b>Figure 6.10:</b> A table of methods ([Brunskill, 2022](https://example.org/x)).</figcaption>
</figure>

| Method | Needs reward |
| --- | --- |
| IL | no |

[^1]: A footnote that matters.
"""


def test_mkdocs_noise_removed_content_kept() -> None:
    page = clean_page(MKDOCS, "04.md", ".md")
    assert page.title == "6.4 Learning from imitation"
    text = page.text
    for noise in ("Reading Time", "12 min", "{:", "#01", "Images/", "loading=lazy", "<", "[^1]", "**"):
        assert noise not in text
    for content in (
        "Imitation Learning: Imitation learning learns by watching an expert.",  # a definition names its term
        "Figure 6.10: A table of methods (Brunskill, 2022).",
        "IL: no",
        "Footnote 1: A footnote that matters.",
        "Intro text about imitation.",
    ):
        assert content in text


def test_a_bold_lead_in_without_a_stop_is_a_line_of_its_own() -> None:
    """ "**The Road Ahead** The frameworks …" read as one sentence would quote the heading's words as the claim's
    first; a lead-in with its own stop, a bold claim before its citation and a bold word in a sentence stay."""
    text = (
        "# Page\n\n**The Road Ahead** The frameworks are first steps.\nThey continue here.\n\n"
        "**What is X?** X is a thing.\n\n**There are criticisms** (Wasil, 2022).\n\n**Note** that this stays.\n"
    )
    assert clean_page(text, "a.md", ".md").text == (
        "Page\n\nThe Road Ahead\nThe frameworks are first steps. They continue here.\n\nWhat is X? X is a thing.\n\n"
        "There are criticisms (Wasil, 2022).\n\nNote that this stays."
    )


def test_emphasis_with_spaces_inside_its_markers_leaves_no_stars() -> None:
    from alignment_qa.ingest.clean import clean_inline

    assert (
        clean_inline("a lower-dimensional ***latent space ***and then") == "a lower-dimensional latent space and then"
    )
    assert clean_inline("Example Prompt:* *“When John") == "Example Prompt: “When John"
    assert (
        clean_inline("**A****ctivation patching doesn’t ****explain it**: so")
        == "Activation patching doesn’t explain it: so"
    )
    assert clean_inline("two *interventional methods *.") == "two interventional methods."
    globs = ("match *.py and *.md files", "files matching `*.py` and `*.md`")
    assert [clean_inline(glob) for glob in globs] == ["match *.py and *.md files", "files matching *.py and *.md"]
    for kept in ("(1/2) * (2/20) = 1/20", "(*) marks a correct prediction", "x = a*b", "def f(*args, **kwargs)"):
        assert clean_inline(kept) == kept


def test_sections_have_paths_anchors_and_exact_offsets() -> None:
    page = clean_page(MKDOCS, "04.md", ".md")
    paths = [section.path for section in page.sections]
    assert paths == [(), ("6.4.1 Imitation Learning (IL)",)]
    assert [section.anchor for section in page.sections] == ["", "01"]
    body = page.text[page.sections[1].start : page.sections[1].end]
    assert body.startswith("Imitation Learning: Imitation learning learns")
    assert body.endswith("Footnote 1: A footnote that matters.")


def test_markdown_header_metadata() -> None:
    page = clean_page((SAMPLE_CORPUS / "wiki/reward-hacking.md").read_text(), "reward-hacking.md", ".md")
    assert page.title == "Reward hacking"
    assert page.url == "https://example.org/wiki/reward_hacking"
    assert page.categories == ["AI Alignment", "Outer alignment"]
    assert page.updated == "2026-03-14"
    assert "Source:" not in page.text
    assert page.text.count("Reward hacking\n") == 1  # the repeated title heading is dropped
    assert "Alignment layer: Outer alignment" in page.text  # key-facts table as text
    assert ("Key facts",) in [section.path for section in page.sections]


def test_front_matter_metadata() -> None:
    page = clean_page((SAMPLE_CORPUS / "wiki/goodharts-law.md").read_text(), "goodharts-law.md", ".md")
    assert page.url == "https://example.org/wiki/goodharts_law"
    assert page.categories == ["Economics", "AI Alignment"]
    assert page.updated == "2025-11-02"
    assert "title:" not in page.text


def test_plain_text_wiki_export() -> None:
    raw = (SAMPLE_CORPUS / "wiki/outer-vs-inner-alignment.txt").read_text()
    page = clean_page(raw, "outer-vs-inner-alignment.txt", ".txt")
    assert page.title == "Outer and inner alignment"
    headings = [section.path[0] for section in page.sections]
    assert headings == ["Overview", "Outer alignment", "Inner alignment", "Where RLHF fits", "Related pages"]
    # "-" alone on a line starts a list item whose text is on the next line
    assert "- RLHF (reinforcement learning from human feedback) is mainly an outer alignment technique." in page.text


def test_html_page() -> None:
    raw = (SAMPLE_CORPUS / "notes/scalable-oversight.html").read_text()
    page = clean_page(raw, "scalable-oversight.html", ".html")
    assert page.title == "Scalable oversight"
    assert "console.log" not in page.text and "Home" not in page.text
    assert "- Debate: two models argue" in page.text
    assert "Debate | Refuting a lie is easier than lying" in page.text
    assert [section.anchor for section in page.sections] == ["", "proposed-approaches", "relation-to-rlhf"]


def test_title_falls_back_to_file_name() -> None:
    page = clean_page("Just a paragraph with no heading at all.", "notes-on-x.md", ".md")
    assert page.title == "notes-on-x"
    assert page.sections[0].path == ()


def test_admonition_variants_and_quote() -> None:
    text = '# T\n\n??? note\n    Collapsed body.\n\n!!! quote "Someone, 2020"\n    Said a thing.\n'
    page = clean_page(text, "t.md", ".md")
    assert "Note\n\nCollapsed body." in page.text
    assert "Quote: Someone, 2020\n\nSaid a thing." in page.text
    # a quote box with no text: what follows it is the page's, so no "Quote:" title may claim it
    boxed = '!!! quote "A (B)"\n\n    ![img](x.png)\n\nAfter the box, the page goes on here.\n'
    empty = clean_page(boxed, "x.md", ".md")
    assert "Quote:" not in empty.text and "After the box, the page goes on here." in empty.text


def test_control_and_invisible_characters_are_dropped() -> None:
    """A page's text reaches terminals: a terminal escape, NUL, zero-width spaces and bidi overrides go."""
    text = "# T\n\nThis has \x1b[31mred\x1b[0m text\x00 and a zero\u200bwidth \u202eoverride.\n"
    page = clean_page(text, "t.md", ".md")
    assert "This has [31mred[0m text and a zerowidth override." in page.text
    assert not any(char in page.text for char in "\x1b\x00\u200b\u202e")


def test_a_comment_holding_tags_and_a_quoted_less_than_stay_markup_and_a_page_break_is_a_break() -> None:
    page = clean_page("# T\n\nBefore. <!-- <div>hidden draft</div> --> After.\n", "t.md", ".md")
    assert "Before. After." in page.text and "hidden" not in page.text
    html = clean_page('<html><body><p title="a < b">Para</p></body></html>', "t.html", ".html")
    assert html.text.strip() == "Para"
    broken = clean_page("# T\n\nPage one.\fThe first line of page two.\n", "t.txt", ".txt")
    assert "one.The" not in broken.text and "The first line of page two." in broken.text


def test_pathological_markup_is_cleaned_in_linear_time() -> None:
    """30,000 "[" or "**a " on one line once took a minute; each pattern now stays well under a second."""
    import time

    from alignment_qa.ingest.chunk import split_sentences

    for line in ("[" * 30_000, "**a " * 8_000, "_a " * 10_000, "[^" * 20_000, "[a](" * 20_000, "<a " * 20_000,
                 "<!--" * 20_000):  # fmt: skip
        started = time.perf_counter()
        clean_page(f"# B\n\n{line} end.\n", "p.md", ".md")
        assert time.perf_counter() - started < 3, line[:8]
    for text in ("e.g. A " * 10_000, "." * 60_000):
        started = time.perf_counter()
        split_sentences(text, 0, len(text))
        assert time.perf_counter() - started < 3, text[:8]


def test_slugify_matches_mkdocs() -> None:
    assert slugify('Stuart Russell and the "King Midas problem"') == "stuart-russell-and-the-king-midas-problem"
    assert slugify("Recent work (2023-2026)") == "recent-work-2023-2026"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://good.example/x) **bold** [free nitro](https://evil.example/steal", "contains a space"),
        ("https://good.example/x)[y](https://evil.example", "character '['"),
        ("https://a.example/x\x07y", "character '\\x07'"),
        ("https://a.example/x)", "parentheses are unbalanced"),
        ("javascript:alert(1)", "not an http(s) address"),
        ("https:///nohost", "no host"),
        ("https://en.wikipedia.org/wiki/Alignment_(disambiguation)", None),
        ("http://example.org/a?b=c&d=%20#frag", None),
    ],
)
def test_source_urls_must_be_one_web_address(url: str, problem: str | None) -> None:
    found = url_problem(url)
    assert found is None if problem is None else problem in (found or "")


@pytest.mark.parametrize("where", ["header", "front matter"])
def test_a_bad_source_url_is_dropped_with_a_warning(where: str) -> None:
    """Issue 11 item 5: the link-injection header keeps the page, drops the URL, says why."""
    bad = "https://good.example/x) **bold** [free nitro](https://evil.example/steal"
    if where == "header":
        text = f"# Page\n\n> Source: {bad}\n> Updated: 2026-01-01\n\nSome text about reward hacking.\n"
    else:
        text = f"---\nsource: {bad}\n---\n# Page\n\nSome text about reward hacking.\n"
    page = clean_page(text, "page.md", ".md")
    assert page.url is None and "Source:" not in page.text and "nitro" not in page.text
    (warning,) = page.warnings
    assert warning.startswith("source URL dropped: it contains a space")
    good = clean_page(text.replace(bad, "<https://good.example/x>"), "page.md", ".md")
    assert good.url == "https://good.example/x" and good.warnings == []
