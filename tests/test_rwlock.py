"""The readers-writer lock the assistant uses around store searches and reopens."""

from __future__ import annotations

import threading
import time

from alignment_qa.engine.rwlock import ReadersWriterLock


def test_readers_share_and_a_writer_waits_for_them_then_goes_before_new_readers() -> None:
    lock = ReadersWriterLock()
    order: list[str] = []
    reader_in = threading.Event()
    release_reader = threading.Event()

    def reader(name: str, hold: threading.Event | None = None) -> None:
        with lock.reading():
            order.append(f"{name} in")
            if hold is not None:
                reader_in.set()
                hold.wait(5)
            order.append(f"{name} out")

    def writer() -> None:
        with lock.writing():
            order.append("writer")

    first = threading.Thread(target=reader, args=("r1", release_reader))
    first.start()
    assert reader_in.wait(5)
    with lock.reading():  # a second reader gets in beside the first
        order.append("r2 in")
    waiting_writer = threading.Thread(target=writer)
    waiting_writer.start()
    time.sleep(0.1)
    late = threading.Thread(target=reader, args=("r3",))
    late.start()
    time.sleep(0.1)
    assert "writer" not in order and "r3 in" not in order  # the writer waits for r1; r3 waits for the writer
    release_reader.set()
    for thread in (first, waiting_writer, late):
        thread.join(5)
    assert order.index("r1 out") < order.index("writer") < order.index("r3 in")
