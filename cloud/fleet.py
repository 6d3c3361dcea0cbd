"""Simulated edge nodes for load tests and the ingest benchmark.

Each node behaves like the real agent's store-and-forward at the protocol level: it publishes
events at QoS 1 on its own topic with its own credentials, keeps every event until the cloud's
application `ack` names it, and publishes again what stays unacknowledged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import Ack, Event, EventType, Telemetry, Topics, new_event_id
from contract.models import CameraHealth, NodeHealth, utcnow


def make_event(site: str, node: str, i: int, camera: str = "cam1", building: str = "7") -> Event:
    return Event(event_id=new_event_id(), type=EventType.test, site=site, node=node, camera=camera,
                 building=building, started_at=utcnow(), confidence=(i % 100) / 100)  # fmt: skip


def make_telemetry(site: str, node: str, cameras: int) -> Telemetry:
    return Telemetry(
        site=site,
        node=node,
        at=utcnow(),
        node_health=NodeHealth(cpu_percent=30.0, mem_percent=40.0, disk_free_bytes=10**10),
        cameras=[CameraHealth(name=f"cam{c}", online=True, input_fps=25.0, processed_fps=25.0) for c in range(cameras)],
    )


@dataclass
class SimNode:
    site: str
    node: str
    password: str
    port: int
    host: str = "127.0.0.1"
    pending: dict[str, str] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    ack_times: dict[str, float] = field(default_factory=dict)
    sent_times: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.topics = Topics(self.site, self.node)
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{self.node}", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(self.node, self.password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = lambda c, *a: c.subscribe(self.topics.ack, qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_ack

    def connect(self) -> None:
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        if not self.ready.wait(10):
            raise RuntimeError(f"{self.node} could not subscribe to its ack topic")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def _on_ack(self, client, userdata, msg) -> None:
        now = time.perf_counter()
        ack = Ack.model_validate_json(msg.payload)
        with self.lock:
            for a in ack.events:
                if self.pending.pop(a.event_id, None) is not None:
                    self.acked.add(a.event_id)
                    self.ack_times[a.event_id] = now

    def publish_events(self, n: int) -> list[str]:
        ids = []
        for i in range(n):
            e = make_event(self.site, self.node, i)
            payload = e.model_dump_json()
            with self.lock:
                self.pending[e.event_id] = payload
                self.sent_times[e.event_id] = time.perf_counter()
            self.client.publish(self.topics.event, payload, qos=1)
            ids.append(e.event_id)
        return ids

    def publish_telemetry(self, n: int, cameras: int) -> None:
        for _ in range(n):
            self.client.publish(self.topics.telemetry, make_telemetry(self.site, self.node, cameras).model_dump_json())

    def resend_unacked(self) -> int:
        with self.lock:
            items = list(self.pending.values())
        for payload in items:
            self.client.publish(self.topics.event, payload, qos=1)
        return len(items)


class Fleet:
    def __init__(self, nodes: list[SimNode]) -> None:
        self.nodes = nodes

    def connect(self) -> None:
        for n in self.nodes:
            n.connect()

    def close(self) -> None:
        for n in self.nodes:
            n.close()

    def burst(self, per_node: int) -> list[str]:
        """Every node publishes `per_node` events at once (one thread per node)."""
        ids: list[list[str]] = [[] for _ in self.nodes]
        threads = [
            threading.Thread(target=lambda i=i, n=n: ids[i].extend(n.publish_events(per_node)))
            for i, n in enumerate(self.nodes)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [e for chunk in ids for e in chunk]

    def pending(self) -> int:
        return sum(len(n.pending) for n in self.nodes)

    def acked(self) -> set[str]:
        return set().union(*(n.acked for n in self.nodes))

    def wait_acked(self, timeout_s: float, resend_after_s: float = 5.0) -> bool:
        """Wait until nothing is pending, publishing again what waits longer than resend_after_s."""
        deadline = time.monotonic() + timeout_s
        last_resend = time.monotonic()
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            if time.monotonic() - last_resend > resend_after_s:
                for n in self.nodes:
                    n.resend_unacked()
                last_resend = time.monotonic()
            time.sleep(0.1)
        return self.pending() == 0
