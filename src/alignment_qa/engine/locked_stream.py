"""Stream tokens from a generator that must run under a lock, without holding the lock across a yield.

``locked_stream(produce, lock)`` runs ``produce()`` in a worker thread that holds ``lock`` only
while it generates, and hands the tokens over through a queue. The consumer's pauses never hold
the lock, and a consumer that goes away (closes the stream, or drops it) stops the worker at its
next token; one that just stops reading costs at most one whole generation, which the LLM's
``max_tokens`` bounds. Used for llama.cpp in-process, whose one context serves one caller at a
time. Leaves out timeouts on the generation itself: that is the LLM's job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

_DONE = object()


def locked_stream(produce: Callable[[], Iterator[str]], lock: threading.Lock, name: str = "locked") -> Iterator[str]:
    """The tokens of ``produce()``, generated under ``lock`` in a worker; its errors are raised here."""
    tokens: queue.SimpleQueue[object] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        try:
            with lock:
                if stop.is_set():  # the consumer left while this waited for the lock
                    return
                generator = produce()
                try:
                    for token in generator:
                        tokens.put(token)
                        if stop.is_set():
                            break
                finally:
                    close = getattr(generator, "close", None)
                    if close is not None:
                        close()  # stops the LLM's own stream, in the thread that ran it
        except BaseException as exc:  # handed to the consumer, which raises it
            tokens.put(exc)
        finally:
            tokens.put(_DONE)

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    try:
        while (item := tokens.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield str(item)
    finally:
        stop.set()
