"""MQTT ingest: validate every message against the contract, store it idempotently, and only
after the commit acknowledge it twice: the MQTT PUBACK to the broker (manual ack, so a crash
before the commit means the broker redelivers) and the application `ack` to the node (so the
node may drop the event from its outbox).

One worker = one MQTT client + one writer thread. The network thread only queues messages;
the writer takes whatever has arrived (up to `batch_max`) and commits it in one transaction,
so throughput grows with load while an idle system commits each message at once.
Several workers, in this process or others, share the load through `$share/` subscriptions;
the event_id primary key makes redelivery and double delivery harmless.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ValidationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from cloud.config import CloudConfig
from cloud.db import Camera, Database, DeadLetter, EventRow, Node, to_epoch
from cloud.metrics import Metrics
from cloud.timeseries import Point, TimeSeries
from contract import SCHEMA_VERSION, Ack, AckedRevision, Event, Status, Telemetry, Topics
from edge.mqtt_link import make_client

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
LEAVES: dict[str, type[BaseModel]] = {"event": Event, "telemetry": Telemetry, "status": Status}
ACK_CHUNK = 5000
NODE_CACHE_S = 5.0


@dataclass
class Incoming:
    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 0
    generation: int = 0


class Refused(Exception):
    """A message the contract does not allow; `reason` goes to the dead-letter table."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class BatchResult:
    acks: dict[str, list[AckedRevision]] = field(default_factory=lambda: defaultdict(list))
    points: list[Point] = field(default_factory=list)
    new_events: list[str] = field(default_factory=list)
    stored_events: int = 0


class NodeDirectory:
    """Active nodes (id -> site), cached for a few seconds so a revocation takes effect soon
    without a query per message."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._nodes: dict[str, str] = {}
        self._at = 0.0

    def site_of(self, node: str) -> str | None:
        age = time.monotonic() - self._at
        # An unknown node may have just been added: look again, but at most once a second.
        if age > NODE_CACHE_S or (node not in self._nodes and age > 1.0):
            self.refresh()
        return self._nodes.get(node)

    def refresh(self) -> None:
        with self.db.session() as s:
            rows = s.execute(select(Node.id, Node.site).where(Node.revoked_at.is_(None))).all()
        self._nodes = dict(rows)
        self._at = time.monotonic()


def _insert(s: Session):
    return (postgresql if s.get_bind().dialect.name == "postgresql" else sqlite).insert


class Ingestor:
    """Validates and stores batches of messages. No MQTT here: the benchmark and tests drive
    it directly, and `IngestWorker` feeds it from the broker."""

    def __init__(self, cfg: CloudConfig, db: Database, ts: TimeSeries, metrics: Metrics) -> None:
        self.prefix = cfg.broker.topic_prefix
        self.max_bytes = cfg.ingest.max_payload_bytes
        self.db = db
        self.ts = ts
        self.metrics = metrics
        self.nodes = NodeDirectory(db)

    # validation --------------------------------------------------------------
    def parse(self, msg: Incoming) -> tuple[str, BaseModel | None, str, str]:
        """(leaf, model or None for an empty retained clear, site, node) or raise Refused."""
        try:
            site, node, leaf = Topics.parse(msg.topic, self.prefix)
        except ValueError as exc:
            raise Refused("unknown", str(exc)) from None
        model_cls = LEAVES.get(leaf)
        if model_cls is None:
            raise Refused("unknown", f"no such topic leaf {leaf!r}")
        if len(msg.payload) > self.max_bytes:
            raise Refused(leaf, f"payload of {len(msg.payload)} bytes exceeds {self.max_bytes}")
        registered_site = self.nodes.site_of(node)
        if registered_site is None:
            raise Refused(leaf, f"node {node!r} is not registered or is revoked (gridwatch-cloud nodes add)")
        if registered_site != site:
            raise Refused(leaf, f"node {node!r} belongs to site {registered_site!r}, topic says {site!r}")
        if b"\\u0000" in msg.payload:
            raise Refused(leaf, "payload contains a NUL character (\\u0000), which text columns cannot store")
        if not msg.payload:
            if leaf == "status":
                return leaf, None, site, node
            raise Refused(leaf, "empty payload")
        try:
            model = model_cls.model_validate_json(msg.payload)  # the fast path: one parse
        except ValidationError as exc:
            raise Refused(leaf, self._explain(msg.payload, exc)) from None
        named = (getattr(model, "site", site), getattr(model, "node", node))
        if named != (site, node):
            raise Refused(leaf, f"payload names {named[0]}/{named[1]} but was published on {site}/{node}'s topic")
        return leaf, model, site, node

    @staticmethod
    def _explain(payload: bytes, exc: ValidationError) -> str:
        """Why a payload failed, in the order a person would look: JSON, object, version, fields."""
        try:
            raw = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            return f"not JSON: {err}"
        if not isinstance(raw, dict):
            return f"payload is a JSON {type(raw).__name__}, not an object"
        version = raw.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            return f"schema_version {version!r} is not supported (this cloud speaks {SCHEMA_VERSION})"
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(payload)"
        return f"{where}: {first['msg']} ({exc.error_count()} problem(s))"

    # storing -------------------------------------------------------------------
    def store(self, batch: list[Incoming]) -> BatchResult:
        """Validate and commit one batch; raise SQLAlchemyError if the database is unreachable
        (the caller retries the same batch, nothing is acknowledged)."""
        result = BatchResult()
        now = time.time()
        events: dict[str, tuple[Event, bytes, str]] = {}
        telemetry: list[Telemetry] = []
        statuses: dict[str, Status | None] = {}
        dead: list[DeadLetter] = []
        for msg in batch:
            try:
                leaf, model, site, node = self.parse(msg)
            except Refused as exc:
                dead.append(DeadLetter(topic=msg.topic[:300], reason=exc.reason[:500], size=len(msg.payload),
                                       payload=msg.payload, received_at=now))  # fmt: skip
                self.metrics.messages.labels(exc.kind, "refused").inc()
                self.metrics.dead_letters.labels(exc.reason.split(" ")[0]).inc()
                log.warning("refused %s: %s", msg.topic, exc.reason)
                continue
            self.metrics.messages.labels(leaf, "ok").inc()
            if isinstance(model, Event):
                held = events.get(model.event_id)
                if held is None or held[0].revision < model.revision:
                    events[model.event_id] = (model, msg.payload, msg.topic)
            elif isinstance(model, Telemetry):
                telemetry.append(model)
            else:
                statuses[node] = model  # the newest status of a node in the batch wins
        with self.db.session.begin() as s:
            if dead:
                s.add_all(dead)
            if events:
                result.new_events = self._store_events(s, events.values(), now)
            if telemetry:
                self._store_telemetry(s, telemetry, now)
            for node, status in statuses.items():
                self._store_status(s, node, status, now)
        # Committed: now (and only now) the events may be acknowledged.
        for event, _, topic in events.values():
            ack_topic = topic.rsplit("/", 1)[0] + "/ack"
            result.acks[ack_topic].append(AckedRevision(event_id=event.event_id, revision=event.revision))
        result.stored_events = len(events)
        new = set(result.new_events)
        result.points.extend(
            Point(
                "events",
                to_epoch(e.started_at) or now,
                {
                    "site": e.site,
                    "node": e.node,
                    "camera": e.camera or "",
                    "building": e.building or "",
                    "type": e.type.value,
                },
                {"count": 1, "event_id": e.event_id},
            )  # fmt: skip
            for e, _, _ in events.values()
            if e.event_id in new
        )
        for t in telemetry:
            result.points.extend(telemetry_points(t))
        return result

    def store_each(self, batch: list[Incoming]) -> BatchResult:
        """Store one message at a time, dead-lettering any the database rejects: the fallback
        when a batch fails on its data, so one poison message cannot stall the others."""
        total = BatchResult()
        for msg in batch:
            try:
                one = self.store([msg])
            except (OperationalError, InterfaceError):
                raise  # the database is away, not the message's fault
            except SQLAlchemyError as exc:
                reason = f"database refused it: {type(exc.orig or exc).__name__}: {str(exc.orig or exc)[:300]}"
                log.error("dead-lettering %s: %s", msg.topic, reason)
                with self.db.session.begin() as s:
                    s.add(DeadLetter(topic=msg.topic[:300], reason=reason[:500], size=len(msg.payload),
                                     payload=msg.payload))  # fmt: skip
                self.metrics.dead_letters.labels("database").inc()
                continue
            for topic, acked in one.acks.items():
                total.acks[topic].extend(acked)
            total.points.extend(one.points)
            total.new_events.extend(one.new_events)
            total.stored_events += one.stored_events
        return total

    def _store_events(self, s: Session, items: Iterable[tuple[Event, bytes, str]], now: float) -> list[str]:
        rows = [event_row(e, raw, now) for e, raw, _ in items]
        table = EventRow.__table__
        ins = _insert(s)(table).on_conflict_do_nothing(index_elements=["event_id"]).returning(table.c.event_id)
        new_ids = list(s.execute(ins, rows).scalars())
        fresh = set(new_ids)
        later = [r for r in rows if r["event_id"] not in fresh]
        if later:
            cols = [c for c in rows[0] if c not in ("event_id", "received_at", "evidence")]
            stmt = (
                update(table)
                .where(table.c.event_id == bindparam("k_event_id"), table.c.revision < bindparam("k_revision"))
                .values({c: bindparam(f"k_{c}") for c in cols})
            )
            s.connection().execute(stmt, [{f"k_{k}": v for k, v in r.items()} for r in later])
        cams = {(r["node"], r["camera"]): r for r in rows if r["camera"] and r["building"]}
        if cams:
            cam_rows = [{"node": n, "name": c, "site": r["site"], "building": r["building"], "updated_at": now}
                        for (n, c), r in cams.items()]  # fmt: skip
            ins = _insert(s)(Camera.__table__)
            s.execute(ins.on_conflict_do_update(index_elements=["node", "name"], set_={"building": ins.excluded.building}), cam_rows)  # fmt: skip
        return new_ids

    def _store_telemetry(self, s: Session, items: list[Telemetry], now: float) -> None:
        latest: dict[str, Telemetry] = {}
        for t in items:
            if t.node not in latest or latest[t.node].at <= t.at:
                latest[t.node] = t
        s.connection().execute(
            update(Node.__table__)
            .where(Node.__table__.c.id == bindparam("k_id"))
            .values(health=bindparam("k_health"), last_seen_at=bindparam("k_seen")),
            [{"k_id": n, "k_health": t.node_health.model_dump(mode="json"), "k_seen": now} for n, t in latest.items()],
        )
        cam_rows = [
            {"node": t.node, "name": c.name, "site": t.site, "online": c.online,
             "health": c.model_dump(mode="json"), "updated_at": now}
            for t in latest.values() for c in t.cameras
        ]  # fmt: skip
        if cam_rows:
            ins = _insert(s)(Camera.__table__)
            s.execute(
                ins.on_conflict_do_update(
                    index_elements=["node", "name"],
                    set_={"online": ins.excluded.online, "health": ins.excluded.health, "updated_at": now},
                ),
                cam_rows,
            )

    def _store_status(self, s: Session, node: str, status: Status | None, now: float) -> None:
        if status is None:
            return  # a cleared retained status carries no state
        s.execute(
            update(Node)
            .where(Node.id == node)
            .values(
                state=status.state,
                state_at=to_epoch(status.at) or now,
                version=status.version,
                problems=status.problems,
                last_seen_at=now if status.state == "online" else Node.last_seen_at,
            )
        )


def event_row(e: Event, raw: bytes, now: float) -> dict[str, Any]:
    origin = e.thrown.origin if e.thrown else None
    return {
        "event_id": e.event_id,
        "revision": e.revision,
        "phase": e.phase.value,
        "type": e.type.value,
        "site": e.site,
        "node": e.node,
        "camera": e.camera,
        "building": e.building,
        "floor": origin.floor if origin else None,
        "unit": origin.unit if origin else None,
        "started_at": e.started_at.timestamp(),
        "ended_at": to_epoch(e.ended_at),
        "confidence": e.confidence,
        "payload": raw.decode(),
        "received_at": now,
        "updated_at": now,
        "evidence": False,
    }


def telemetry_points(t: Telemetry) -> list[Point]:
    at = t.at.timestamp()
    base = {"site": t.site, "node": t.node}
    h = t.node_health.model_dump(exclude_none=True)
    points = [Point("node_health", at, base, h)]
    for c in t.cameras:
        fields = c.model_dump(exclude={"name", "last_frame_at", "error"}, exclude_none=True)
        points.append(Point("camera_health", at, {**base, "camera": c.name}, fields))
    return points


class IngestWorker:
    """One MQTT consumer feeding an Ingestor; survives broker and database outages."""

    def __init__(
        self,
        cfg: CloudConfig,
        ingestor: Ingestor,
        index: int = 0,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.ingestor = ingestor
        self.name = f"{cfg.ingest.client_id}-{index}"
        self.metrics = ingestor.metrics
        self.connected = threading.Event()
        self.stored_total = 0
        self.on_stored = on_stored
        self._generation = 0
        self._queue: queue.Queue[Incoming] = queue.Queue(maxsize=20_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write_loop, name=f"ingest-{index}", daemon=True)
        self.client = make_client(cfg.broker, client_id=self.name)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def subscriptions(self) -> list[tuple[str, int]]:
        any_node = Topics("+", "+", self.cfg.broker.topic_prefix)
        group = self.cfg.ingest.share_group
        topics = [any_node.event, any_node.telemetry, any_node.status]
        return [(f"$share/{group}/{t}" if group else t, 1) for t in topics]

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = self.cfg.ingest.receive_maximum
        b = self.cfg.broker
        self.client.connect_async(b.host, b.port, b.keepalive_s, clean_start=False, properties=props)
        self.client.loop_start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("ingest %s: broker refused the connection: %s", self.name, reason_code)
            return
        self._generation += 1
        client.subscribe(self.subscriptions())
        self.connected.set()
        self.metrics.ingest_connected.labels(self.name).set(1)
        log.info("ingest %s connected (session present: %s)", self.name, flags.session_present)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        self.metrics.ingest_connected.labels(self.name).set(0)
        if not self._stop.is_set():
            log.warning("ingest %s disconnected: %s; reconnecting", self.name, reason_code)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        # Blocks the network thread when the writer falls behind: TCP backpressure, no loss.
        self._queue.put(Incoming(msg.topic, msg.payload, msg.mid, msg.qos, self._generation))

    def _write_loop(self) -> None:
        batch_max = self.cfg.ingest.batch_max
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < batch_max:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[Incoming]) -> None:
        delay = 0.5
        while True:
            started = time.perf_counter()
            try:
                try:
                    result = self.ingestor.store(batch)
                except (OperationalError, InterfaceError):
                    raise
                except SQLAlchemyError as exc:
                    log.error("ingest %s: batch refused by the database (%s); storing one by one", self.name, exc)
                    result = self.ingestor.store_each(batch)
                break
            except SQLAlchemyError as exc:
                # Nothing is acknowledged: the batch is retried here, and if we die the broker
                # redelivers it. Wait for the database rather than drop anything.
                log.error("ingest %s: database error, retrying in %.1f s: %s", self.name, delay, exc)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 10.0)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        if result.stored_events and self.on_stored is not None:
            self.on_stored()  # alerting looks at the new events now rather than at its next tick
        try:
            self.ingestor.ts.write(result.points)
        except Exception as exc:  # telemetry is sampled; never let its store stall events
            log.error("ingest %s: time-series write failed (%d points dropped): %s", self.name, len(result.points), exc)
        for topic, acked in result.acks.items():
            for i in range(0, len(acked), ACK_CHUNK):
                ack = Ack(events=acked[i : i + ACK_CHUNK])
                self.client.publish(topic, ack.model_dump_json(), qos=1)
        generation = self._generation
        for msg in batch:
            # A message from before a reconnect has a stale mid: the broker redelivers it instead.
            if msg.qos and msg.generation == generation:
                self.client.ack(msg.mid, msg.qos)
        self.stored_total += result.stored_events
