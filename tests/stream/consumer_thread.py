"""Run a stream consumer in a thread, as the tests of tests/stream do."""

from __future__ import annotations

import threading

from ingestion.stream.consumer import StreamConsumer


def run_in_thread(consumer: StreamConsumer, **kwargs) -> threading.Thread:
    """``consumer.run(**kwargs)`` in a started thread, once the consumer has subscribed."""
    t = threading.Thread(target=lambda: consumer.run(**kwargs))
    t.start()
    assert consumer.subscribed.wait(15)
    return t
