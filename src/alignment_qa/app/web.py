"""The chat page (Gradio) mounted on the HTTP API: ``create_app(assistant, settings, embedder)``.
``serve`` mounts it once the server answers (``page_mount``), so the API starts seconds sooner.

Thin glue: ``build_ui`` lays out the components and wires each event to a plain function of
``chat_turn`` (a turn streamed from ``Assistant.stream``, a chosen message, feedback, a new
conversation), whose updates name what changes; the handlers here only map those names to
components. Messages and the sources panel are HTML from ``format``. Multi-turn history is kept
per browser session and passed to the assistant, so follow-ups work. Analytics are off
(``analytics_enabled=False`` on the page; the environment is not touched) and nothing is
fetched from the network. Thumbs and "wrong source" flags go to the feedback SQLite file; with
logins configured, the page asks for one (Gradio's login) and the API for HTTP basic auth.
The Index tab indexes a folder inside ``serve.index_roots`` (none: folders are off) or uploaded
pages with a progress bar, shows the summary with skipped files and reasons, and swaps the fresh
index in for the chat and the API. Only files Gradio's upload route received are read, and they
are deleted once indexed. Answers shown are signed (``answer_ids``) before feedback stores them.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterator, MutableSet
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignment_qa.app.api import create_api, login_throttle, short_validation_errors
from alignment_qa.app.assistant_slot import AssistantSlot
from alignment_qa.app.chat_turn import (
    Answers,
    Message,
    Update,
    chat_turn,
    citation_choices,
    flag,
    like,
    new_conversation,
    select_message,
    sources_panel,
)
from alignment_qa.app.feedback import FeedbackStore
from alignment_qa.app.format import sources_html, status_line
from alignment_qa.app.guards import LOOPBACK_NAMES
from alignment_qa.app.openai_compat import load_api_keys
from alignment_qa.app.page_mount import mount_later, mount_now
from alignment_qa.engine.assistant import Assistant
from alignment_qa.errors import AlignmentQAError, ConfigError
from alignment_qa.extras import require_extra
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import IngestSummary, ProgressReporter, ingest
from alignment_qa.settings import Settings, masked_url, public_settings

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI


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

# Clicking [n] in an answer highlights its source card. The cards of an earlier answer are on
# their way (the click also selects that message, which redraws the panel): highlight on arrival.
HEAD = """
<script>
let aqaPending = null;
function aqaActivate(id) {
  const card = document.getElementById(id);
  if (!card) return false;
  document.querySelectorAll(".aqa-source.aqa-active").forEach((el) => el.classList.remove("aqa-active"));
  card.classList.add("aqa-active");
  card.scrollIntoView({behavior: "smooth", block: "nearest"});
  return true;
}
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.aqa-cite");
  if (!link) return;
  event.preventDefault();
  aqaPending = aqaActivate(link.dataset.card) ? null : link.dataset.card;
});
new MutationObserver(() => { if (aqaPending && aqaActivate(aqaPending)) aqaPending = null; })
  .observe(document.documentElement, {childList: true, subtree: true});
</script>
"""
LOOPBACK = LOOPBACK_NAMES


def load_logins(settings: Settings) -> list[tuple[str, str]]:
    """Logins from ``serve.auth`` and ``serve.auth_file``; ``ConfigError`` for a malformed one."""
    entries: list[str] = []
    if settings.serve.auth is not None:
        entries.extend(settings.serve.auth.get_secret_value().split(","))
    if settings.serve.auth_file is not None:
        try:
            entries.extend(settings.serve.auth_file.read_text(encoding="utf-8").splitlines())
        except OSError as exc:
            raise ConfigError(f"cannot read serve.auth_file {settings.serve.auth_file}: {exc.strerror or exc}") from exc
    logins = []
    for number, entry in enumerate((entry.strip() for entry in entries), 1):
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user or not password:
            raise ConfigError(f"login {number} is not 'user:password' (the password is not shown)")
        logins.append((user, password))
    return logins


class _GradioProgress:
    """The ingest pipeline's ``ProgressReporter`` drawn by Gradio's progress bar."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._phase, self._total, self._done = "", 0, 0

    def start(self, phase: str, total: int) -> None:
        self._phase, self._total, self._done = phase, total, 0
        self._progress((0, total), desc=phase)

    def advance(self, amount: int = 1) -> None:
        self._done += amount
        self._progress((self._done, self._total), desc=self._phase)

    def finish(self) -> None:
        self._progress((self._total, self._total), desc=self._phase)


def summary_markdown(summary: IngestSummary, uploads: Collection[Path] = ()) -> str:
    """The ingest summary for the Index tab: counts, then each skipped file with its reason (an upload by the
    name it was uploaded with, not the server's temporary path)."""
    names = {str(path): path.name for path in uploads}
    lines = [
        f"**Indexed in {summary.seconds:.1f} s:** {len(summary.added)} added, {len(summary.updated)} updated, "
        f"{len(summary.removed)} removed, {len(summary.unchanged)} unchanged, {len(summary.skipped)} skipped; "
        f"{summary.chunks_total} chunks in the index."
    ]
    if summary.skipped:
        lines.append("\n| Skipped file | Reason |\n| --- | --- |")
        for item in summary.skipped:
            path = html.escape(names.get(item.path, item.path)).replace("|", "\\|")
            reason = html.escape(item.reason).replace("|", "\\|")
            lines.append(f"| {path} | {reason} |")
    return "\n".join(lines)


FOLDERS_OFF = (
    "indexing a server folder from the page is off; upload pages instead, or list the folders the page may "
    'index in serve.index_roots (index_roots = ["/path/to/pages"] under [serve] in alignment-qa.toml, or '
    "ALIGNMENT_QA_SERVE__INDEX_ROOTS='[\"/path/to/pages\"]') and restart the server"
)


def folder_refusal(folder: Path, settings: Settings) -> str | None:
    """Why the Index tab may not index this server folder, or ``None`` when it may: only inside
    ``serve.index_roots`` (after following symlinks), never a hidden file or folder there; with
    no roots configured, never."""
    roots = settings.serve.index_roots
    if not roots:
        return FOLDERS_OFF
    resolved = folder.expanduser().resolve()
    for root in roots:
        base = root.expanduser().resolve()
        if resolved.is_relative_to(base):
            if any(part.startswith(".") for part in resolved.relative_to(base).parts):
                return "hidden files and folders are not indexed"
            return None
    return "that folder is outside the folders allowed by serve.index_roots: " + ", ".join(str(r) for r in roots)


def _received_uploads(uploads: list[str], received: Collection[str]) -> tuple[list[Path], list[str]]:
    """The uploads Gradio's upload route wrote (``received``), and a problem line for each other entry."""
    accepted: list[Path] = []
    problems: list[str] = []
    for upload in uploads:
        path = Path(upload)
        if upload in received and path.is_file() and not path.is_symlink():
            accepted.append(path)
        else:
            problems.append(f"{path.name or upload}: not a file uploaded to this page; it was not read")
    return accepted, problems


def _delete_uploads(paths: list[Path], received: Collection[str]) -> None:
    """Delete indexed uploads (and the folder Gradio made for each) so no copy stays behind."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
            path.parent.rmdir()  # Gradio keeps each upload in a folder of its own
        except OSError:
            pass  # a folder holding another upload stays
        if isinstance(received, MutableSet):
            received.discard(str(path))


def index_pages(
    slot: AssistantSlot,
    settings: Settings,
    embedder: Embedder,
    folder: str,
    uploads: list[str],
    progress: ProgressReporter | None = None,
    received: Collection[str] = frozenset(),
) -> str:
    """Ingest a folder and/or uploaded files, then answer from the fresh index; the summary as
    markdown. An upload is read only if it is one of the files Gradio's upload route
    ``received``; uploads are deleted once indexed (the index keeps their text)."""
    paths: list[Path] = []
    if folder.strip():
        path = Path(folder.strip()).expanduser()
        refusal = folder_refusal(path, settings)
        if refusal:
            return f"**Not indexed:** {html.escape(refusal)}"
        paths.append(path)
    accepted, problems = _received_uploads(uploads, received)
    limit = settings.serve.max_upload_files
    if len(accepted) > limit:
        _delete_uploads(accepted, received)
        return f"**Not indexed:** {len(accepted)} files uploaded; at most {limit} at once (serve.max_upload_files)."
    refused = "".join(f"\n\n**Not read:** {html.escape(problem)}" for problem in problems)
    paths.extend(accepted)
    if not paths:
        return (refused.strip() + "\n\n" if refused else "") + "Give a folder or upload pages first."
    try:
        with ChunkStore(settings.store) as store:  # closed after: a serving client can then reopen afresh
            summary = ingest(paths, settings, embedder, store, progress=progress)
        if slot.current is None:
            slot.current = Assistant.open(settings, embedder=embedder)
        else:
            slot.current.refresh_if_stale(force=True)
    except AlignmentQAError as exc:  # a missing folder, an unreachable store: say so
        return f"**Not indexed:** {html.escape(str(exc))}" + refused
    finally:
        _delete_uploads(accepted, received)
    return summary_markdown(summary, accepted) + refused


@dataclass
class _Page:
    """The page's components, for the wiring."""

    ui: gr.Blocks
    status: Any
    chat: Any
    history: Any
    sources: Any
    box: Any
    selected: Any
    answers: Any
    wrong: Any
    thanks: Any
    mode: Any
    top_k: Any
    show_all: Any
    ask: Any
    clear: Any
    flag: Any
    folder: Any
    files: Any
    reindex: Any
    summary: Any

    def views(self) -> dict[str, Any]:
        """The components by the names of ``chat_turn.Update`` (its ``citations`` are the ``wrong`` dropdown's)."""
        names = ("chat", "history", "sources", "box", "selected", "answers", "thanks")
        return {name: getattr(self, name) for name in names}


def build_ui(
    slot: AssistantSlot, settings: Settings, embedder: Embedder, feedback: FeedbackStore | None = None
) -> gr.Blocks:
    """The chat page around ``slot``'s assistant (empty: the page explains how to add pages)."""
    require_extra("gradio", "ui", "The web UI")
    page = _layout(settings, _status(slot, settings))
    with page.ui:  # events are added inside the page's context
        _wire(page, slot, settings, embedder, feedback)
    return page.ui


def _folder_note(settings: Settings) -> str:
    kinds = ", ".join(settings.ingest.extensions)
    roots = ", ".join(f"`{root}`" for root in settings.serve.index_roots)
    return (
        f"Upload pages ({kinds}; at most {settings.serve.max_upload_files} files of "
        f"{settings.serve.max_upload_mb:g} MB at once), or index a folder "
        + (f"under {roots}." if roots else "on the server once serve.index_roots lists the folders allowed (off now).")
        + " Only new or changed pages are embedded; a folder is synced, so pages gone from it leave the index."
    )


def _layout(settings: Settings, status: str) -> _Page:
    """The components, laid out: the Chat tab (conversation, settings, sources panel) and the Index tab."""
    import gradio as gr

    # uploads never indexed are deleted after an hour (indexed ones at once)
    with gr.Blocks(title="alignment-qa", analytics_enabled=False, fill_width=True, delete_cache=(3600, 3600)) as ui:
        gr.Markdown("## alignment-qa\nAsk the alignment pages; every sentence cites its source.")
        status_markdown = gr.Markdown(status, elem_id="aqa-status")
        history = gr.State([])
        selected = gr.State(None)  # the chat message whose sources the panel shows
        answers = gr.State({})  # chat message index -> {"answer": Answer JSON, "settings": settings used}
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                # every message is HTML built (and escaped) by `format`: Markdown would turn
                # [text](javascript:...) in a question or a model's tokens into a live link
                chat = gr.Chatbot(
                    label="Conversation",
                    height=520,
                    render_markdown=False,
                    sanitize_html=False,
                    elem_id="aqa-chat",
                    buttons=["copy"],
                    feedback_options=["Like", "Dislike"],
                )
                box = gr.Textbox(placeholder="Ask a question about the pages…", show_label=False, elem_id="aqa-input")
                with gr.Row():
                    ask = gr.Button("Ask", variant="primary", elem_id="aqa-ask")
                    clear = gr.Button("New conversation", elem_id="aqa-clear")
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
                with gr.Accordion("Settings", open=False):
                    mode = gr.Radio(settings.configured_modes(), value=settings.answer.mode, label="Answer mode")
                    top_k = gr.Slider(1, 15, value=settings.retrieval.top_k, step=1, label="Passages (top-k)")
                    if settings.llm.base_url:
                        endpoint = masked_url(settings.llm.base_url)
                        gr.Markdown(f"LLM endpoint: `{endpoint}`, model `{settings.llm.model}`")
            with gr.Column(scale=2):
                show_all = gr.Checkbox(label="Show every retrieved passage with its scores", elem_id="aqa-show-all")
                sources = gr.HTML(sources_html(None), elem_id="aqa-sources")
                with gr.Row():
                    wrong = gr.Dropdown([], label="Flag a source of the shown answer as wrong", scale=3)
                    flag_button = gr.Button("Flag", scale=1, elem_id="aqa-flag")
                thanks = gr.Markdown("", elem_id="aqa-thanks")
        with gr.Tab("Index"):
            gr.Markdown(_folder_note(settings))
            folder = gr.Textbox(label="Folder", placeholder="/path/to/pages", elem_id="aqa-folder")
            files = gr.File(
                label="Upload pages", file_count="multiple", type="filepath", file_types=settings.ingest.extensions
            )
            reindex = gr.Button("Index", variant="primary", elem_id="aqa-reindex")
            summary = gr.Markdown("", elem_id="aqa-summary")
    return _Page(
        ui=ui,
        status=status_markdown,
        chat=chat,
        history=history,
        sources=sources,
        box=box,
        selected=selected,
        answers=answers,
        wrong=wrong,
        thanks=thanks,
        mode=mode,
        top_k=top_k,
        show_all=show_all,
        ask=ask,
        clear=clear,
        flag=flag_button,
        folder=folder,
        files=files,
        reindex=reindex,
        summary=summary,
    )


def _status(slot: AssistantSlot, settings: Settings) -> str:
    current = slot.current
    return status_line(current.stats() if current else None, settings.answer.mode)


def _wire(
    page: _Page, slot: AssistantSlot, settings: Settings, embedder: Embedder, feedback: FeedbackStore | None
) -> None:
    """The events: each handler calls a function of ``chat_turn`` (or ``index_pages``) and shows what it returns."""
    import gradio as gr

    views = page.views()
    base_settings = public_settings(settings)
    signer = feedback.signer if feedback else None

    def shown(update: Update) -> Any:
        """An update as Gradio takes it: component -> value (nothing to change: skip)."""
        if not update:
            return gr.skip()
        values = {views[name]: value for name, value in update.items() if name != "citations"}
        if "citations" in update:
            values[page.wrong] = gr.update(choices=update["citations"], value=None)
        return values

    def respond(
        message: str,
        chat: list[Message],
        history: list[Message],
        mode: str,
        top_k: float,
        show_all: bool,
        answers: Answers,
    ) -> Iterator[Any]:
        turn = chat_turn(
            slot.current,
            message,
            chat,
            history,
            answers,
            mode=mode,
            top_k=int(top_k),
            show_all=show_all,
            settings=base_settings,
            signer=signer,
        )
        for update in turn:
            yield shown(update)

    def flaggable(answers: Answers, selected: int | None) -> Any:
        return gr.update(choices=citation_choices(answers, selected), value=None)

    def panel(show_all: bool, answers: Answers, selected: int | None) -> str:
        return sources_panel(answers, selected, show_all)

    def select(show_all: bool, answers: Answers, data: gr.SelectData) -> Any:
        return shown(select_message(answers, _message_index(data), show_all))

    def on_like(answers: Answers, data: gr.LikeData) -> str:
        return like(feedback, answers, _message_index(data), data.liked)

    def on_flag(choice: str | None, answers: Answers, selected: int | None) -> str:
        return flag(feedback, answers, selected, choice)

    # Gradio finds the event data by annotation; make it a class, not a postponed string
    on_like.__annotations__["data"] = gr.LikeData
    select.__annotations__["data"] = gr.SelectData

    # Gradio draws its progress bar for a handler whose parameter defaults to gr.Progress()
    def run_index(folder: str, uploaded: list[str] | None, progress: Any = gr.Progress()) -> tuple[str, str]:  # noqa: B008
        reporter, received = _GradioProgress(progress), page.ui.upload_file_set  # what Gradio's upload route wrote
        summary = index_pages(slot, settings, embedder, folder, uploaded or [], reporter, received)
        return summary, _status(slot, settings)

    turn_outputs = [page.chat, page.history, page.sources, page.box, page.selected, page.answers]
    inputs = [page.box, page.chat, page.history, page.mode, page.top_k, page.show_all, page.answers]
    limit = settings.serve.concurrency_limit  # both triggers share one pool of answers at a time
    for trigger in (page.ask.click, page.box.submit):
        trigger(respond, inputs, turn_outputs, concurrency_limit=limit, concurrency_id="answer").then(
            flaggable, [page.answers, page.selected], page.wrong
        )
    page.show_all.change(panel, [page.show_all, page.answers, page.selected], page.sources)
    page.chat.select(select, [page.show_all, page.answers], [page.sources, page.selected, page.wrong])
    page.chat.like(on_like, page.answers, page.thanks)
    page.flag.click(on_flag, [page.wrong, page.answers, page.selected], page.thanks)
    cleared = [page.chat, page.history, page.sources, page.selected, page.answers, page.wrong, page.thanks]
    page.clear.click(lambda: shown(new_conversation()), None, cleared)
    page.reindex.click(run_index, [page.folder, page.files], [page.summary, page.status])
    page.ui.load(lambda: _status(slot, settings), None, page.status)


def _message_index(data: Any) -> int:
    """The chat message an event (like, select) is about; Gradio gives an int or [row, column]."""
    index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
    return int(index)


def create_app(
    assistant: Assistant | None, settings: Settings, embedder: Embedder, page_later: bool = False
) -> FastAPI:
    """The HTTP API with the chat page mounted at ``/``; login on both when logins are configured. With
    ``page_later`` the page is built once the server runs, so the API answers seconds sooner (``page_mount``)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.routing import Mount

    logins = load_logins(settings)
    feedback = FeedbackStore.for_settings(settings)
    slot = AssistantSlot(assistant)
    gradio_apps: list[Any] = []  # Gradio's own app, known once mounted: it holds the login sessions
    serve = settings.serve
    api = create_api(
        slot,
        feedback,
        logins,
        signed_in=lambda request: _signed_in(gradio_apps, request),
        api_keys=load_api_keys(settings),
        serve=serve,
        throttle=login_throttle(serve),
    )
    options: dict[str, Any] = {
        "css": CSS,
        "head": HEAD,
        "footer_links": ["api"],
        "auth": logins or None,
        "max_file_size": int(serve.max_upload_mb * 1_000_000),
    }

    def mounted(ui: gr.Blocks, app: FastAPI) -> None:
        # mount_gradio_app, unlike launch(), leaves this False, which turns off Gradio's own check
        # that a file handed to an event was uploaded (a forged entry could name any server file)
        ui.has_launched = True
        mounts = [route.app for route in app.routes if isinstance(route, Mount)]
        gradio_apps.extend(sub for sub in mounts if hasattr(sub, "tokens"))
        for server in gradio_apps:  # Gradio's 422s must not echo a large input back either
            server.add_exception_handler(RequestValidationError, short_validation_errors)

    mount = mount_later if page_later else mount_now
    mount(api, lambda: build_ui(slot, settings, embedder, feedback), options, mounted)
    return api


def _signed_in(gradio_apps: list[Any], request: Any) -> bool:
    """Whether the request carries the cookie of a chat-page login (so source links need no second login)."""
    for server in gradio_apps:
        cookie_id = server.cookie_id
        token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
            f"access-token-unsecure-{cookie_id}"
        )
        if token and token in server.tokens:
            return True
    return False
