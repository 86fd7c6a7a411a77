"""Discord bot benchmark: what the bot adds to an answer, and whether the event loop stays free.

In one run on this machine, over an index of ../shared/corpus built first, for the 80 dev questions:
- bot path in-process: ``Responder.answer`` (answer slot, worker thread, Discord formatting),
  against the baseline ``Assistant.ask`` called directly; p50/p95 and the ratio;
- bot path through the API: ``Responder`` with ``ApiAnswers`` against a real ``alignment-qa serve``;
- event-loop stall: the longest gap of a 10 ms asyncio ticker while the bot answers every question,
  against the baseline of calling ``Assistant.ask`` on the loop itself (what a naive bot would do);
- formatting alone: ``answer_replies`` per answer.

Usage: python bench/discord_bench.py [CORPUS] [--out FILE.json]   (needs the `discord` and `ui` extras)
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from serve_bench import ENV, bench_args, cold_start, dev_questions, ingest_cli, percentiles


async def _timed(questions: list[str], answer: Callable[[str], Awaitable[Any]]) -> tuple[list[float], float]:
    """Milliseconds per question, and the longest event-loop stall (ms) seen meanwhile."""
    stall = 0.0
    done = False

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            stall = max(stall, (now - last) * 1000 - 10)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    times = []
    for question in questions:
        started = time.perf_counter()
        await answer(question)
        times.append((time.perf_counter() - started) * 1000)
    done = True
    await tick
    return times, round(stall, 1)


def main() -> None:
    corpus, out = bench_args(__doc__, "discord.json")
    os.environ.update(ENV)

    from alignment_qa.app.discord_bot.answers import ApiAnswers, LocalAnswers
    from alignment_qa.app.discord_bot.format import answer_replies
    from alignment_qa.app.discord_bot.responder import Responder
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.settings import DiscordSettings, load_settings

    questions = dev_questions()
    result: dict[str, Any] = {"cores": os.cpu_count(), "questions": len(questions)}
    settings = DiscordSettings(cooldown_s=0)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        ingest_cli(data_dir, corpus)
        assistant = Assistant.open(load_settings(None, {"store.data_dir": str(data_dir)}).settings)
        assistant.ask(questions[0])
        local = Responder(LocalAnswers(assistant), settings)

        async def direct(question: str) -> Any:
            return assistant.ask(question)  # on the loop: the naive baseline

        async def bot(question: str) -> Any:
            return await local.answer(question, [])

        baseline, baseline_stall = asyncio.run(_timed(questions, direct))
        in_process, bot_stall = asyncio.run(_timed(questions, bot))
        answers = [assistant.ask(question) for question in questions]
        started = time.perf_counter()
        for answer in answers:
            answer_replies(answer, "https://qa.example.org")
        format_ms = (time.perf_counter() - started) * 1000 / len(answers)

        _, server, url = cold_start(data_dir, questions[0])
        try:
            remote = Responder(ApiAnswers(url), settings)

            async def via_api(question: str) -> Any:
                return await remote.answer(question, [])

            api_times, api_stall = asyncio.run(_timed(questions, via_api))
        finally:
            server.terminate()
            server.wait(timeout=30)

    result["direct_ask"] = percentiles(baseline)
    result["bot_in_process"] = percentiles(in_process)
    result["bot_via_api"] = percentiles(api_times)
    result["bot_in_process_p50_ratio"] = round(result["bot_in_process"]["p50_ms"] / result["direct_ask"]["p50_ms"], 2)
    result["bot_via_api_p50_ratio"] = round(result["bot_via_api"]["p50_ms"] / result["direct_ask"]["p50_ms"], 2)
    stalls = {"direct_on_loop": baseline_stall, "bot_in_process": bot_stall, "bot_via_api": api_stall}
    result["event_loop_stall_ms"] = stalls
    result["format_ms_per_answer"] = round(format_ms, 3)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
