"""Shared fixtures: a real Mosquitto on a free port, sample footage, config files, and a
test "cloud" that subscribes to events and acknowledges them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.devbroker import DevBroker
from edge.sample import write_sample

USERS = {"cloud": "cloud-pw", "edge-1": "edge-1-pw", "edge-2": "edge-2-pw"}


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DevBroker]:
    b = DevBroker(tmp_path / "broker", USERS).start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("media") / "sample.mp4", seconds=12, fps=25, gop=25)


def site_config(tmp_path: Path, broker: DevBroker | None, source: str, **extra: object) -> Path:
    cfg: dict = {
        "site": "demo",
        "node": "edge-1",
        "broker": {
            "host": "127.0.0.1",
            "port": broker.port if broker else 1,
            "username": "edge-1",
            "password": "${EDGE_PW:-edge-1-pw}",
        },
        "cloud": {"ack_timeout_s": 3},
        "telemetry_interval_s": 1,
        "data_dir": "data",
        "cameras": [
            {
                "name": "cam1",
                "source": source,
                "building": "7",
                "loop": True,
                "facade": {
                    "corners": [[77, 38], [563, 38], [563, 480], [77, 480]],
                    "floors": [1, 12],
                    "units": ["01", "02", "03"],
                },
                "recording": {"pre_s": 2, "post_s": 1},
            }
        ],
    }
    for key, value in extra.items():
        cfg[key] = value
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


class CloudProbe:
    """Subscribes to all nodes' events as the `cloud` user; acks them when `auto_ack`."""

    def __init__(self, broker: DevBroker, auto_ack: bool = True, client_id: str = "test-cloud") -> None:
        self.events: list[dict] = []
        self.messages: list[tuple[str, bytes]] = []
        self.auto_ack = auto_ack
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.username_pw_set("cloud", USERS["cloud"])
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *a: c.subscribe("gridwatch/#", qos=1)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload))
        if msg.topic.endswith("/event"):
            event = json.loads(msg.payload)
            with self._lock:
                self.events.append(event)
            if self.auto_ack:
                self.ack(msg.topic, event)

    def ack(self, event_topic: str, event: dict) -> None:
        ack = {"event_id": event["event_id"], "revision": event["revision"]}
        self.client.publish(event_topic.rsplit("/", 1)[0] + "/ack", json.dumps(ack), qos=1)

    def command(self, name: str, node: str = "edge-1", **payload: object) -> None:
        self.client.publish(
            f"gridwatch/demo/{node}/cmd/{name}", json.dumps({"cmd_id": f"c{time.time_ns()}", **payload}), qos=1
        )

    def topic_messages(self, suffix: str) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.messages if t.endswith(suffix)]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def cloud(broker: DevBroker) -> Iterator[CloudProbe]:
    c = CloudProbe(broker)
    yield c
    c.close()
