"""Cloud ingest against a real Mosquitto whose users and ACL come from the cloud's node
registry: idempotent storage, acks only after commit, dead letters, topic authority,
shared subscriptions."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from conftest import CLOUD_MQTT_PW, CloudEnv, wait_for
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from cloud.db import Base, Camera, DeadLetter, EventRow, Node
from cloud.registry import revoke_node
from cloud.service import CloudService
from contract import Event, EventType, Phase, Telemetry, new_event_id
from contract.models import CameraHealth, NodeHealth, utcnow


def event(node: str = "edge-1", revision: int = 0, **kw: object) -> Event:
    fields = {"event_id": new_event_id(), "revision": revision, "type": EventType.test, "site": "demo",
              "node": node, "camera": "cam1", "building": "7", "started_at": utcnow(), "confidence": 1.0}  # fmt: skip
    fields.update(kw)
    return Event.model_validate(fields)


class Node_:
    """A simulated edge node: publishes as itself and records the acks it receives."""

    def __init__(self, env: CloudEnv, node: str) -> None:
        self.acked: dict[str, int] = {}
        self.lock = threading.Lock()
        self.client = env.node_client(node)
        self.client.on_message = self._on_ack
        self.client.on_connect = lambda c, *a: c.subscribe(f"gridwatch/demo/{node}/ack", qos=1)
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect("127.0.0.1", env.broker.port)
        self.client.loop_start()
        assert self.subscribed.wait(5), "node could not subscribe to its ack topic"
        self.node = node

    def _on_ack(self, client, userdata, msg) -> None:
        with self.lock:
            for a in json.loads(msg.payload)["events"]:
                self.acked[a["event_id"]] = max(self.acked.get(a["event_id"], -1), a["revision"])

    def publish(self, payload: str | bytes, leaf: str = "event", node: str | None = None, qos: int = 1) -> None:
        topic = f"gridwatch/demo/{node or self.node}/{leaf}"
        self.client.publish(topic, payload, qos=qos).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def service(cloud_env: CloudEnv) -> Iterator[CloudService]:
    svc = CloudService(cloud_env.cfg)
    svc.start_ingest()
    wait_for(lambda: all(w.connected.is_set() for w in svc.workers), 10, "ingest connected")
    yield svc
    svc.stop()


@pytest.fixture
def edge1(cloud_env: CloudEnv) -> Iterator[Node_]:
    n = Node_(cloud_env, "edge-1")
    yield n
    n.close()


def rows(env: CloudEnv, model=EventRow) -> list:
    with env.db.session() as s:
        return list(s.scalars(select(model)))


def test_migrations_build_exactly_the_models(cloud_env: CloudEnv) -> None:
    """Alembic's head and the SQLAlchemy models agree (tables, columns, indexes, the partial
    index the alerting poll relies on), so a new column cannot be forgotten in a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with cloud_env.db.engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []


def test_event_stored_once_and_acked_after_commit(cloud_env: CloudEnv, service: CloudService, edge1: Node_) -> None:
    e = event()
    for _ in range(3):  # the edge resends until acked; duplicates are harmless
        edge1.publish(e.model_dump_json())
    wait_for(lambda: edge1.acked.get(e.event_id) == 0, what="ack")
    stored = rows(cloud_env)
    assert [(r.event_id, r.revision, r.building) for r in stored] == [(e.event_id, 0, "7")]
    assert json.loads(stored[0].payload) == json.loads(e.model_dump_json())
    later = e.model_copy(update={"revision": 2, "phase": Phase.end, "ended_at": utcnow()})
    edge1.publish(later.model_dump_json())
    edge1.publish(e.model_copy(update={"revision": 1}).model_dump_json())  # late, older: must not win
    wait_for(lambda: edge1.acked.get(e.event_id) == 2, what="ack of revision 2")
    wait_for(lambda: rows(cloud_env)[0].revision == 2, what="revision 2 stored")
    time.sleep(0.5)
    assert rows(cloud_env)[0].phase == "end" and len(rows(cloud_env)) == 1
    pts = service.ts.query("events", "count", 0, 2e9, 86400, "sum", {"site": "demo"})
    assert sum(v for _, v in pts) == 1, "an event is counted once however often it is delivered"


def test_bad_payloads_are_dead_lettered_and_block_nothing(
    cloud_env: CloudEnv, service: CloudService, edge1: Node_
) -> None:
    bad = {
        b"{not json": "not JSON",
        b"[1, 2]": "not an object",
        json.dumps({**json.loads(event().model_dump_json()), "schema_version": 9}).encode(): "schema_version 9",
        json.dumps({**json.loads(event().model_dump_json()), "confidence": 7}).encode(): "confidence",
        event(node="edge-2").model_dump_json().encode(): "payload names demo/edge-2",
        event(note="a\x00b").model_dump_json().encode(): "NUL character",
        b"{" + b" " * (300 * 1024) + b"}": "exceeds",
    }
    for payload in bad:
        edge1.publish(payload)
    good = event()
    edge1.publish(good.model_dump_json())
    wait_for(lambda: good.event_id in edge1.acked, what="the good event after the bad ones")
    dead = wait_for(lambda: len(rows(cloud_env, DeadLetter)) == len(bad) and rows(cloud_env, DeadLetter))
    by_payload = {d.payload: d.reason for d in dead}
    for payload, expected in bad.items():
        assert expected in by_payload[payload], (expected, by_payload[payload])
    assert [r.event_id for r in rows(cloud_env)] == [good.event_id]
    text = service.metrics.registry.get_sample_value(
        "gridwatch_ingest_messages_total", {"kind": "event", "outcome": "refused"}
    )
    assert text == len(bad)


def test_topic_authority(cloud_env: CloudEnv, service: CloudService, edge1: Node_) -> None:
    # The broker's ACL (rendered from the registry) drops edge-1 writing on edge-2's topic.
    forged = event(node="edge-2")
    edge1.publish(forged.model_dump_json(), node="edge-2")
    # A registered-but-revoked node is refused by the cloud even if the broker let it in.
    revoke_node(cloud_env.db, "edge-2")
    service.ingestor.nodes.refresh()
    cloud = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="cloud-tool", protocol=mqtt.MQTTv5)
    cloud.username_pw_set("cloud", CLOUD_MQTT_PW)
    cloud.connect("127.0.0.1", cloud_env.broker.port)
    cloud.loop_start()
    cloud.publish("gridwatch/demo/edge-2/event", event(node="edge-2").model_dump_json(), qos=1).wait_for_publish(5)
    cloud.publish("gridwatch/demo/ghost/event", event(node="ghost").model_dump_json(), qos=1).wait_for_publish(5)
    cloud.loop_stop()
    cloud.disconnect()
    good = event()
    edge1.publish(good.model_dump_json())
    wait_for(lambda: good.event_id in edge1.acked, what="good event")
    wait_for(lambda: len(rows(cloud_env, DeadLetter)) == 2, what="two dead letters")
    reasons = {d.topic: d.reason for d in rows(cloud_env, DeadLetter)}
    assert "'edge-2' is not registered or is revoked" in reasons["gridwatch/demo/edge-2/event"]
    assert "'ghost' is not registered" in reasons["gridwatch/demo/ghost/event"]
    assert [r.event_id for r in rows(cloud_env)] == [good.event_id]
    # After the registry changes the broker config, the revoked node cannot even connect.
    cloud_env.reload_broker_auth()
    revoked = cloud_env.node_client("edge-2")
    codes: list = []
    revoked.on_connect = lambda c, u, f, rc, p: codes.append(rc)
    revoked.connect("127.0.0.1", cloud_env.broker.port)
    revoked.loop_start()
    wait_for(lambda: codes, 5, "CONNACK")
    revoked.loop_stop()
    assert codes[0].is_failure and not revoked.is_connected(), codes


def test_telemetry_and_status_update_nodes_cameras_and_series(
    cloud_env: CloudEnv, service: CloudService, edge1: Node_
) -> None:
    t = Telemetry(
        site="demo", node="edge-1", at=utcnow(),
        node_health=NodeHealth(cpu_percent=42.0, mem_percent=30.0, disk_free_bytes=10**9, outbox_pending=3),
        cameras=[CameraHealth(name="cam1", online=True, input_fps=25.0, processed_fps=24.5)],
    )  # fmt: skip
    edge1.publish(t.model_dump_json(), leaf="telemetry", qos=0)
    edge1.publish(json.dumps({"state": "online", "version": "0.1.0", "problems": []}), leaf="status")
    wait_for(lambda: (n := rows(cloud_env, Node)) and any(x.health and x.state for x in n), what="node health")
    node = next(n for n in rows(cloud_env, Node) if n.id == "edge-1")
    assert node.health["cpu_percent"] == 42.0 and node.state == "online" and node.version == "0.1.0"
    cam = rows(cloud_env, Camera)[0]
    assert (cam.node, cam.name, cam.online, cam.health["input_fps"]) == ("edge-1", "cam1", True, 25.0)
    at = t.at.timestamp()
    fps = wait_for(
        lambda: service.ts.query("camera_health", "processed_fps", at - 1, at + 1, 60, tags={"camera": "cam1"})
    )
    assert fps[0][1] == 24.5


def test_three_workers_split_a_burst_without_loss_or_duplicates(cloud_env: CloudEnv, edge1: Node_) -> None:
    cfg = cloud_env.cfg.model_copy(deep=True)
    cfg.ingest.workers = 3
    svc = CloudService(cfg)
    svc.start_ingest()
    try:
        wait_for(lambda: all(w.connected.is_set() for w in svc.workers), 10, "3 workers connected")
        time.sleep(0.5)  # let all three subscriptions land before the burst
        ids = []
        for i in range(1500):
            e = event(confidence=(i % 100) / 100)
            ids.append(e.event_id)
            edge1.client.publish("gridwatch/demo/edge-1/event", e.model_dump_json(), qos=1)
        wait_for(lambda: len(edge1.acked) == len(ids), 60, "all acks")
        with cloud_env.db.session() as s:
            assert s.scalar(select(func.count()).select_from(EventRow)) == len(ids)
        shares = [w.stored_total for w in svc.workers]
        assert sum(shares) >= len(ids) and all(n > 0 for n in shares), shares
    finally:
        svc.stop()


def test_database_connections_cut_mid_ingest_lose_nothing(
    cloud_env: CloudEnv, service: CloudService, edge1: Node_, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL drops every connection of the cloud (a restart or failover); the worker
    retries the batch on a new connection and nothing is lost or acknowledged early."""
    if cloud_env.db.is_sqlite:
        pytest.skip("a server-side connection cut needs PostgreSQL")
    admin = request.getfixturevalue("postgres_admin")
    dbname = cloud_env.db.engine.url.database
    first = [event() for _ in range(50)]
    for e in first:
        edge1.publish(e.model_dump_json())
    wait_for(lambda: len(edge1.acked) == 50, what="first acks")
    cut = admin.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    ).fetchone()[0]
    assert cut >= 1, "the cloud had no connection to cut"
    second = [event() for _ in range(50)]
    for e in second:
        edge1.publish(e.model_dump_json())
    wait_for(lambda: len(edge1.acked) == 100, 30, "acks after the cut")
    assert {r.event_id for r in rows(cloud_env)} == {e.event_id for e in first + second}
