"""The relational store: nodes, cameras, events, media, users, sessions, dead letters and
the audit log, through SQLAlchemy 2 so the same code runs on SQLite (default) and PostgreSQL.

The schema is created and changed only by the Alembic migrations in cloud/migrations;
`migrate()` brings any database to the head revision and runs at every start.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    or_,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def now() -> float:
    """Times in the database are UTC epoch seconds: portable and cheap to compare."""
    return time.time()


def to_epoch(dt: datetime | None) -> float | None:
    """A datetime for the database; a naive one is taken as UTC (as the API documents)."""
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def from_epoch(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


class Base(DeclarativeBase):
    pass


class Node(Base):
    """An edge node the cloud trusts. Its MQTT user name is its id; `revoked_at` locks it out."""

    __tablename__ = "nodes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    mqtt_hash: Mapped[str] = mapped_column(String(300), doc="Mosquitto password-file hash ($7$, PBKDF2-SHA512).")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, doc="SHA-256 of the upload token.")
    created_at: Mapped[float] = mapped_column(Float, default=now)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str | None] = mapped_column(String(16), nullable=True, doc="Last status: online/offline.")
    state_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    problems: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    health: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    last_seen_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Camera(Base):
    __tablename__ = "cameras"
    node: Mapped[str] = mapped_column(String(64), ForeignKey("nodes.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    building: Mapped[str | None] = mapped_column(String(64), nullable=True)
    online: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    health: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, default=now)


class EventRow(Base):
    """The newest revision of each event, with the columns the API filters on pulled out."""

    __tablename__ = "events"
    event_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(32))
    site: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str | None] = mapped_column(String(64), nullable=True)
    building: Mapped[str | None] = mapped_column(String(64), nullable=True)
    floor: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unit: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    payload: Mapped[str] = mapped_column(Text, doc="The revision's JSON exactly as the node sent it.")
    received_at: Mapped[float] = mapped_column(Float, doc="When the cloud stored the first revision.")
    updated_at: Mapped[float] = mapped_column(Float, doc="When the cloud stored the newest revision.")
    evidence: Mapped[bool] = mapped_column(Boolean, default=False, doc="Kept past retention: flagged by a user.")
    alert_rev: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="Newest revision the alerting engine has handled; null: not yet."
    )
    alarm_id: Mapped[int | None] = mapped_column(
        Integer, nullable=True, index=True, doc="The alarm it raised or joined."
    )

    __table_args__ = (
        Index("ix_events_site_building_started", "site", "building", "started_at"),
        Index("ix_events_started", "started_at"),
        Index("ix_events_updated", "updated_at"),
        Index("ix_events_type_started", "type", "started_at"),
    )


# Events whose newest revision the alerting engine has not handled: what its poll and its claim
# select. A partial index holds just these (a handful, however many are stored), so the poll
# stays cheap during a burst; the engine's queries use this very expression, which is what lets
# SQLite and PostgreSQL match them to the index.
UNALERTED = or_(EventRow.alert_rev.is_(None), EventRow.alert_rev < EventRow.revision)
Index("ix_events_unalerted", EventRow.updated_at, sqlite_where=UNALERTED, postgresql_where=UNALERTED)


class Media(Base):
    """A stored clip or snapshot. `event_id` is null for snapshots taken on command."""

    __tablename__ = "media"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str | None] = mapped_column(String(26), nullable=True, index=True)
    node: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(300), unique=True, doc="Storage key, relative to the media root.")
    content_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[float] = mapped_column(Float, default=now)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    __table_args__ = (UniqueConstraint("event_id", "node", "filename", name="uq_media_event_file"),)


class DeadLetter(Base):
    """A message the ingest refused, kept byte for byte so nothing is lost to a bug."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[float] = mapped_column(Float, default=now, index=True)
    topic: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    grids: Mapped[list[str]] = mapped_column(JSON, default=list, doc="`site/building` a grid worker covers.")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=now)


class SessionRow(Base):
    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float] = mapped_column(Float)


class AuditEntry(Base):
    """Every state change: who (user name or `node:<id>` or `cli`), what, on what, and details."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, default=now, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Alarm(Base):
    """One incident people must act on: opened by an event, joined by repeat detections of the
    same camera and type within the rule's window, escalated until acknowledged, then resolved.

    `version` makes every change a compare-and-set, so with several replicas a timer fires once.
    """

    __tablename__ = "alarms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    open_key: Mapped[str | None] = mapped_column(
        String(300), nullable=True, unique=True, doc="`site/node/camera/type` while repeats may join it."
    )
    type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer, doc="0 info, 1 minor, 2 major, 3 critical.")
    rule: Mapped[str] = mapped_column(String(64))
    site: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str | None] = mapped_column(String(64), nullable=True)
    building: Mapped[str | None] = mapped_column(String(64), nullable=True)
    grid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    floor: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unit: Mapped[str | None] = mapped_column(String(32), nullable=True)
    first_event_id: Mapped[str] = mapped_column(String(26))
    last_event_id: Mapped[str] = mapped_column(String(26))
    event_count: Mapped[int] = mapped_column(Integer, default=1)
    confidence: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), doc="triggered, notified, acknowledged, resolved.")
    level: Mapped[int] = mapped_column(Integer, default=0, doc="Index into the rule's escalation levels.")
    round: Mapped[int] = mapped_column(Integer, default=0, doc="How many times the ladder was restarted.")
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[float] = mapped_column(Float, doc="When the first event started, on the edge's clock.")
    opened_at: Mapped[float] = mapped_column(Float, index=True, doc="When the cloud opened the alarm.")
    last_event_at: Mapped[float] = mapped_column(Float)
    window_until: Mapped[float] = mapped_column(Float)
    next_action_at: Mapped[float | None] = mapped_column(
        Float, nullable=True, index=True, doc="Escalation or reminder due."
    )
    notified_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    acked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True, doc="handled or false_alarm.")
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    photo_media_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    inhibited_by: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="The fire alarm muting this smoke alarm."
    )
    silenced_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    assigned_to: Mapped[str | None] = mapped_column(
        String(100), nullable=True, doc="The person (rules key) the control room sent to handle it."
    )
    updated_at: Mapped[float] = mapped_column(Float, default=now, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class Delivery(Base):
    """One message to one channel: the outbox. Created with the alarm change that causes it
    (same transaction), sent by the dispatcher, retried with backoff; `sent` is written only
    after the vendor said yes, so a restart re-sends what was not confirmed and nothing else."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16), doc="alarm, escalation, reminder, resolved.")
    step: Mapped[str] = mapped_column(String(32), doc="Which step of the alarm made it; unique per channel.")
    channel: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list, doc="Person keys.")
    priority: Mapped[int] = mapped_column(Integer, doc="The alarm's severity: higher goes first.")
    group_key: Mapped[str | None] = mapped_column(String(200), nullable=True, doc="Due together: one message.")
    status: Mapped[str] = mapped_column(String(16), doc="pending, sending, sent, folded, failed, cancelled.")
    created_at: Mapped[float] = mapped_column(Float, default=now)
    due_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    messages: Mapped[int] = mapped_column(Integer, default=0, doc="Vendor messages it took (counts against the rate).")
    folded_into: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    __table_args__ = (
        UniqueConstraint("alarm_id", "step", "channel", name="uq_delivery_step"),
        Index("ix_deliveries_status_due", "status", "due_at"),
        Index("ix_deliveries_channel_sent", "channel", "sent_at"),
    )


class Silence(Base):
    """Mute matching alarms until `ends_at` (maintenance); a null matcher matches anything."""

    __tablename__ = "silences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str | None] = mapped_column(String(64), nullable=True)
    building: Mapped[str | None] = mapped_column(String(64), nullable=True)
    camera: Mapped[str | None] = mapped_column(String(64), nullable=True)
    type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    starts_at: Mapped[float] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float, index=True)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[float] = mapped_column(Float, default=now)


class LinkUse(Base):
    """Nonces of acknowledgement links already used: a link works once."""

    __tablename__ = "link_uses"
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    alarm_id: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[float] = mapped_column(Float, default=now)


class Setting(Base):
    """Small documents the replicas share: the alerting rules (every revision kept in the audit
    log), the link-signing secret."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    updated_by: Mapped[str] = mapped_column(String(100), default="")


def make_engine(url: str) -> Engine:
    """An engine with SQLite tuned for one writer and many readers (WAL, fsync at commit)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: an ack promises the event survives a power cut, not only a crash.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    """Engine plus session factory; one per process, shared by the API and ingest workers."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        migrate(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
