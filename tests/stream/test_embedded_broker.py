"""The demo's embedded broker keeps the persistent session of a named client across its restarts
(amqtt forgets anonymous sessions): what is published while the alert engine is away reaches it."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt

from ingestion.stream.broker import EmbeddedBroker
from orchestration.demo.assets import free_port


def _subscriber(port: int, received: list, subscribed: threading.Event) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hv-test-engine", clean_session=False)
    client.username_pw_set("hyperviseur-engine")
    client.on_connect = lambda c, u, flags, rc, p: c.subscribe("city/#", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda c, u, msg: received.append(msg.payload)
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert subscribed.wait(10)
    return client


def test_named_persistent_session_gets_what_was_published_while_away():
    port = free_port()
    received: list[bytes] = []
    with EmbeddedBroker(port=port, named_sessions=True):
        engine = _subscriber(port, received, threading.Event())
        engine.disconnect()
        engine.loop_stop()
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hv-test-pub")
        publisher.username_pw_set("hyperviseur-simulator")
        publisher.connect("127.0.0.1", port)
        publisher.loop_start()
        for i in range(20):
            publisher.publish("city/water/WM01A", str(i).encode(), qos=1).wait_for_publish(10)
        publisher.disconnect()
        publisher.loop_stop()
        engine = _subscriber(port, received, threading.Event())
        deadline = time.monotonic() + 30
        while len(received) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        engine.disconnect()
        engine.loop_stop()
    assert sorted(int(p) for p in received) == list(range(20))
