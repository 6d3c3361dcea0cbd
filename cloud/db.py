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

    __table_args__ = (
        Index("ix_events_site_building_started", "site", "building", "started_at"),
        Index("ix_events_started", "started_at"),
        Index("ix_events_updated", "updated_at"),
        Index("ix_events_type_started", "type", "started_at"),
    )


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
