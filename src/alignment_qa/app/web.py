"""The chat page (Gradio) mounted on the HTTP API: ``create_app(assistant, settings)``.

Thin glue: the page streams ``Assistant.stream`` events into a chat, and renders messages and
the sources panel with the pure functions of ``format``. Multi-turn history is kept per browser
session and passed to the assistant, so follow-ups work. Analytics are off and nothing is
fetched from the network. Left for later: the Index tab, feedback storage and login.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from alignment_qa.app.api import NO_INDEX, create_api
from alignment_qa.app.format import answer_html, sources_html, status_line
from alignment_qa.engine.answer import Answer, AnswerEvent, StatusEvent, TokenEvent
from alignment_qa.errors import AlignmentQAError
from alignment_qa.extras import require_extra
from alignment_qa.settings import Settings

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

    from alignment_qa.engine.assistant import Assistant

EXAMPLES = [
    "Is RLHF an inner alignment fix?",
    "What is the difference between outer and inner alignment?",
    "What is reward hacking?",
    "How does Goodhart's law relate to AI?",
]

CSS = """
.aqa-notice { background: #fff4d6; border-left: 4px solid #e0a800; padding: 4px 8px; margin-bottom: 6px; }
.aqa-label { font-size: 0.85em; color: #666; margin: 4px 0; }
.aqa-unsupported { text-decoration: underline wavy #d33; }
.aqa-flag { color: #d33; font-size: 0.85em; }
.aqa-cite { text-decoration: none; font-weight: 600; }
.aqa-source { border: 1px solid #ddd; border-radius: 6px; padding: 8px; margin-bottom: 8px; }
.aqa-source.aqa-active { border-color: #2b6cb0; box-shadow: 0 0 0 2px #90cdf4; }
.aqa-section, .aqa-page { font-size: 0.85em; color: #555; }
.aqa-quote { margin: 6px 0 0 0; padding-left: 8px; border-left: 3px solid #ccc; }
.aqa-retrieved { font-size: 0.85em; margin-bottom: 6px; }
.aqa-not-cited { opacity: 0.7; }
"""

# Clicking [n] in an answer highlights source card n (the link itself scrolls to it).
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.aqa-cite");
  if (!link) return;
  event.preventDefault();
  document.querySelectorAll(".aqa-source.aqa-active").forEach((el) => el.classList.remove("aqa-active"));
  const card = document.getElementById("source-" + link.dataset.source);
  if (card) { card.classList.add("aqa-active"); card.scrollIntoView({behavior: "smooth", block: "nearest"}); }
});
</script>
"""


def _modes(settings: Settings) -> list[str]:
    modes = ["evidence"]
    if settings.llm.base_url:
        modes.append("llm")
    if settings.llamacpp.model_path:
        modes.append("llamacpp")
    return modes


def build_ui(assistant: Assistant | None, settings: Settings) -> gr.Blocks:
    """The chat page around ``assistant`` (``None``: the page explains how to add pages)."""
    require_extra("gradio", "ui", "The web UI")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    info = assistant.store.info(assistant.collection) if assistant else None

    def respond(
        message: str, chat: list[dict[str, str]], history: list[dict[str, str]], mode: str, top_k: float, show_all: bool
    ) -> Iterator[tuple[Any, ...]]:
        chat = [*chat, {"role": "user", "content": html.escape(message)}]
        if assistant is None:
            chat.append({"role": "assistant", "content": html.escape(NO_INDEX)})
            yield chat, history, sources_html(None), "", None
            return
        streamed = ""
        answer: Answer | None = None
        try:
            for event in assistant.stream(message, history, mode, int(top_k)):  # type: ignore[arg-type]
                if isinstance(event, StatusEvent) and not streamed:
                    yield (
                        [*chat, {"role": "assistant", "content": f"<i>{html.escape(event.text)}</i>"}],
                        history,
                        gr.skip(),
                        "",
                        gr.skip(),
                    )
                elif isinstance(event, TokenEvent):
                    streamed += event.text
                    yield (
                        [*chat, {"role": "assistant", "content": html.escape(streamed)}],
                        history,
                        gr.skip(),
                        "",
                        gr.skip(),
                    )
                elif isinstance(event, AnswerEvent):
                    answer = event.answer
        except AlignmentQAError as exc:  # an empty or too long question, a store problem: say so
            chat.append({"role": "assistant", "content": f'<div class="aqa-notice">{html.escape(str(exc))}</div>'})
            yield chat, history, gr.skip(), message, gr.skip()
            return
        assert answer is not None
        chat.append({"role": "assistant", "content": answer_html(answer)})
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": answer.text}]
        yield chat, history, sources_html(answer, show_all), "", answer.model_dump(mode="json")

    def toggle(show_all: bool, last: dict[str, Any] | None) -> str:
        return sources_html(Answer.model_validate(last) if last else None, show_all)

    with gr.Blocks(title="alignment-qa", analytics_enabled=False, fill_width=True) as ui:
        gr.Markdown("## alignment-qa\nAsk the alignment pages; every sentence cites its source.")
        gr.Markdown(status_line(info, settings.answer.mode), elem_id="aqa-status")
        history = gr.State([])
        last_answer = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Conversation", height=520, sanitize_html=False, elem_id="aqa-chat", buttons=["copy"]
                )
                box = gr.Textbox(placeholder="Ask a question about the pages…", show_label=False, elem_id="aqa-input")
                with gr.Row():
                    ask = gr.Button("Ask", variant="primary", elem_id="aqa-ask")
                    clear = gr.Button("New conversation")
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                with gr.Accordion("Settings", open=False):
                    mode = gr.Radio(_modes(settings), value=settings.answer.mode, label="Answer mode")
                    top_k = gr.Slider(1, 15, value=settings.retrieval.top_k, step=1, label="Passages (top-k)")
                    if settings.llm.base_url:
                        gr.Markdown(f"LLM endpoint: `{settings.llm.base_url}`, model `{settings.llm.model}`")
            with gr.Column(scale=2):
                show_all = gr.Checkbox(label="Show every retrieved passage with its scores", elem_id="aqa-show-all")
                sources = gr.HTML(sources_html(None), elem_id="aqa-sources")
        inputs = [box, chat, history, mode, top_k, show_all]
        outputs = [chat, history, sources, box, last_answer]
        ask.click(respond, inputs, outputs)
        box.submit(respond, inputs, outputs)
        show_all.change(toggle, [show_all, last_answer], sources)
        clear.click(lambda: ([], [], sources_html(None), None), None, [chat, history, sources, last_answer])
    return ui


def create_app(assistant: Assistant | None, settings: Settings) -> FastAPI:
    """The HTTP API with the chat page mounted at ``/``."""
    import gradio as gr

    api = create_api(assistant)
    return gr.mount_gradio_app(api, build_ui(assistant, settings), path="/", css=CSS, head=HEAD, footer_links=["api"])
