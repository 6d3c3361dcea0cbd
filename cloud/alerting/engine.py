"""The alerting engine: events become alarms, alarms become messages, unanswered alarms climb
the escalation ladder, and people close them.

Everything it knows is in the database, so a restart or a second replica loses nothing:
- events it has handled carry `alert_rev` (set by a compare-and-set, so one replica wins);
- each alarm's next escalation or reminder is `next_action_at`, and every alarm change is a
  compare-and-set on `version` (plus `FOR UPDATE SKIP LOCKED` on PostgreSQL), so a timer fires
  once however many replicas look at it;
- messages are rows in `deliveries` (an outbox) written in the same transaction as the change
  that causes them, marked `sent` only after the vendor accepted them.

One loop per process (`run`) polls every `tick_s` and is woken by the ingest right after a
commit, so a fire alarm is on its way within milliseconds of being stored.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Row, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cloud.alerting.channels import Adapter, DeliveryError, make_adapters
from cloud.alerting.links import Link, LinkError, link_secret, make_token
from cloud.alerting.messages import Renderer
from cloud.alerting.rules import AlertingRules, Level, Rule, parse_rules
from cloud.audit import audit
from cloud.config import CloudConfig
from cloud.db import UNALERTED, Alarm, Database, Delivery, EventRow, LinkUse, Media, Setting, Silence
from cloud.media import MediaStore, StoreUnavailable
from cloud.timeseries import Point, TimeSeries
from edge.yaml_source import ConfigError

log = logging.getLogger(__name__)

RULES_KEY = "alerting.rules"
RULES_FILE_KEY = "alerting.rules_file_sha256"
OPEN = ("triggered", "notified", "acknowledged")
STUCK_SENDING_S = 120
CATCH_UP_S = 86400
BATCH = 50  # events per alerting transaction: bounds how long ingest waits for SQLite's writer
# What raising or joining an alarm reads of an event (not its payload).
ALARM_INPUT = (EventRow.event_id, EventRow.alarm_id, EventRow.type, EventRow.site, EventRow.node, EventRow.camera,
               EventRow.building, EventRow.floor, EventRow.unit, EventRow.confidence, EventRow.started_at)  # fmt: skip


def alarm_key(row: Row) -> str:
    """Detections of one type from one camera join one open alarm."""
    return f"{row.site}/{row.node}/{row.camera or '-'}/{row.type}"


MAX_PHOTO_BYTES = 10 * 1024 * 1024


class AlarmError(Exception):
    """A lifecycle action that cannot be done; `status` is the HTTP status the API answers."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def backoff_s(attempts: int) -> float:
    return min(2.0 ** max(attempts - 1, 0), 300.0)


def rules_revision(db: Database) -> tuple[int, str | None]:
    with db.session() as s:
        row = s.get(Setting, RULES_KEY)
        return (row.revision, row.value) if row else (0, None)


def save_rules(db: Database, text: str, actor: str, name: str = "rules") -> int:
    """Validate and store a new revision of the rules; ConfigError (naming `name`, line and key
    path) if invalid. Every replica picks it up on its next tick."""
    parse_rules(text, name)
    with db.session.begin() as s:
        row = s.get(Setting, RULES_KEY, with_for_update=True)
        if row is None:
            row = Setting(key=RULES_KEY, value=text, revision=1, updated_by=actor)
            s.add(row)
        else:
            row.value, row.revision, row.updated_by, row.updated_at = text, row.revision + 1, actor, time.time()
        s.flush()
        audit(s, actor, "alerting.rules", f"revision:{row.revision}", sha256=hashlib.sha256(text.encode()).hexdigest())
        return row.revision


def seed_rules_from_file(db: Database, path: Path) -> None:
    """Import the rules file when it changed since the last import (so editing the file and
    restarting applies it, while edits made through the API survive restarts of an unchanged file)."""
    text = path.read_text(encoding="utf-8")
    sha = hashlib.sha256(text.encode()).hexdigest()
    with db.session() as s:
        seen = s.get(Setting, RULES_FILE_KEY)
        if seen is not None and seen.value == sha:
            return
    save_rules(db, text, f"file:{path.name}", path.name)  # invalid: the start stops with file:line messages
    with db.session.begin() as s:
        s.merge(Setting(key=RULES_FILE_KEY, value=sha, updated_by="system"))


class AlertEngine:
    def __init__(self, cfg: CloudConfig, db: Database, media: MediaStore, ts: TimeSeries) -> None:
        self.cfg = cfg
        self.db = db
        self.media = media
        self.ts = ts
        self.tz = ZoneInfo(cfg.timezone)
        self.http = httpx.Client()
        self.secret = link_secret(db)
        self.rules: AlertingRules  # these three are set by reload(), at the end of __init__
        self.adapters: dict[str, Adapter]
        self.renderer: Renderer
        self._rules_rev = -1
        self._since = time.time() - CATCH_UP_S
        self._last_recovery = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="deliver")
        self._busy: set[str] = set()
        self._inflight = 0
        self._lock = threading.Lock()
        if cfg.alerting.rules_file is not None:
            seed_rules_from_file(db, cfg.alerting.rules_file)
        self.reload()

    # --- running -----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alerting", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True)
        self.http.close()

    def wake(self) -> None:
        """Called by the ingest after a commit: look at new events now, not at the next tick."""
        self._wake.set()

    def _run(self) -> None:
        last_reload = 0.0
        while not self._stop.is_set():
            self._wake.wait(self.cfg.alerting.tick_s)
            self._wake.clear()
            if time.monotonic() - last_reload > 2:
                last_reload = time.monotonic()
                try:
                    self.reload()
                except ConfigError as exc:  # e.g. a ${VAR} this replica lacks: keep alerting on the old rules
                    log.error("alerting rules revision not applied, keeping the previous one: %s", exc)
            try:
                self.step()
            except Exception:
                log.exception("alerting step failed; retrying at the next tick")

    def step(self, now: float | None = None) -> None:
        """One pass: new events, due timers, due messages. Tests call it with a fake `now`."""
        now = time.time() if now is None else now
        self.process_events(now)
        self.run_timers(now)
        self.dispatch(now)

    def wait_idle(self, timeout: float = 30) -> None:
        """Wait until no message is being sent (tests and the benchmark)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._inflight == 0:
                    return
            time.sleep(0.01)
        raise TimeoutError("deliveries still in flight")

    def reload(self) -> None:
        """Pick up a new revision of the rules (from the API or another replica)."""
        revision, text = rules_revision(self.db)
        if revision == self._rules_rev:
            return
        rules = parse_rules(text, "alerting rules") if text else AlertingRules()
        self.rules = rules
        self.adapters = make_adapters(rules.channels, self.http)
        self.renderer = Renderer(rules.language, rules.console_url, self.cfg.timezone)
        self._rules_rev = revision
        log.info("alerting rules revision %d: %d channels, %d grids", revision, len(rules.channels), len(rules.grids))

    # --- events -> alarms ----------------------------------------------------------------
    def process_events(self, now: float) -> None:
        """Handle new event revisions, a batch per transaction (one commit, not one per event:
        on SQLite the ingest shares the single writer with us)."""
        with self.db.session() as s:
            ids = list(
                s.scalars(
                    select(EventRow.event_id)
                    .where(
                        EventRow.updated_at >= self._since,
                        UNALERTED,
                    )
                    .order_by(EventRow.updated_at)
                    .limit(BATCH)
                )
            )
        if ids:
            try:
                self._handle_events(ids, now)
            except (IntegrityError, StaleDataError):
                # Another replica opened or changed one of the same alarms: one event at a time.
                for event_id in ids:
                    for _attempt in range(3):
                        try:
                            self._handle_events([event_id], now)
                            break
                        except (IntegrityError, StaleDataError):
                            continue
        if len(ids) < BATCH:
            # Ingest stamps updated_at before its commit lands; a minute of overlap covers that.
            self._since = max(self._since, now - 60)

    def _handle_events(self, ids: list[str], now: float) -> None:
        with self.db.session.begin() as s:
            claimed = list(
                s.scalars(
                    update(EventRow)
                    .where(
                        EventRow.event_id.in_(ids),
                        UNALERTED,
                    )
                    .values(alert_rev=EventRow.revision)
                    .returning(EventRow.event_id)
                    .execution_options(synchronize_session=False)
                )
            )
            if not claimed:
                return
            # Plain column rows, not ORM objects (the payload stays in the database): in a burst
            # this loop runs thousands of times a second beside the ingest.
            rows = s.execute(
                select(*ALARM_INPUT)
                .where(EventRow.event_id.in_(claimed))
                .order_by(EventRow.updated_at, EventRow.event_id)
            ).all()
            keys = {alarm_key(r) for r in rows if r.alarm_id is None}
            # The open alarms of every key in the batch, in one query: a burst repeats few keys.
            batch: dict[str, Alarm | None] = dict.fromkeys(keys)
            batch.update((a.open_key, a) for a in s.scalars(select(Alarm).where(Alarm.open_key.in_(keys))))
            links: list[dict[str, object]] = []
            with s.no_autoflush:
                for row in rows:
                    alarm_id = self._handle_event(s, row, now, batch)
                    if alarm_id is not None:
                        links.append({"event_id": row.event_id, "alarm_id": alarm_id})
            if links:  # the event -> alarm links, one executemany by primary key
                s.execute(update(EventRow), links)

    def _handle_event(self, s: Session, row: Row, now: float, batch: dict[str, Alarm | None]) -> int | None:
        """Raise or join the alarm `row` belongs to; the id of an alarm it newly joined."""
        if row.alarm_id is not None:
            alarm = s.get(Alarm, row.alarm_id)
            if alarm is not None and (
                row.confidence > alarm.confidence or (alarm.floor is None and row.floor is not None)
            ):
                alarm.confidence = max(alarm.confidence, row.confidence)
                alarm.floor = alarm.floor if alarm.floor is not None else row.floor
                alarm.unit = alarm.unit or row.unit
                alarm.updated_at = now
            return None
        rule = self.rules.rule_for(row.type)
        return self._open_or_join(s, row, rule, now, batch) if rule is not None else None

    def _open_or_join(self, s: Session, row: Row, rule: Rule, now: float, batch: dict[str, Alarm | None]) -> int:
        key = alarm_key(row)
        alarm = batch.get(key)
        if alarm is not None and alarm.window_until >= now:
            alarm.event_count += 1
            alarm.last_event_id, alarm.last_event_at = row.event_id, now
            alarm.window_until = now + rule.dedup_window_s
            alarm.confidence = max(alarm.confidence, row.confidence)
            alarm.updated_at = now
            return alarm.id  # the link is the record; an audit entry per repeat would be noise
        if alarm is not None:
            alarm.open_key = None  # its window passed: this detection is a new incident
            s.flush()
        grid = self.rules.grid_of(row.site, row.building)
        alarm = Alarm(
            open_key=key, type=row.type, severity=int(rule.rank), rule=rule.name, site=row.site, node=row.node,
            camera=row.camera, building=row.building, grid=grid.id if grid else None, floor=row.floor,
            unit=row.unit, first_event_id=row.event_id, last_event_id=row.event_id, event_count=1,
            confidence=row.confidence, state="triggered", level=0, round=0, reminders_sent=0,
            started_at=row.started_at, opened_at=now, last_event_at=now, window_until=now + rule.dedup_window_s,
            updated_at=now,
        )  # fmt: skip
        s.add(alarm)
        s.flush()
        batch[key] = alarm
        audit(s, "system", "alarm.triggered", f"alarm:{alarm.id}", event_id=row.event_id, rule=rule.name,
              severity=rule.severity, grid=alarm.grid)  # fmt: skip
        self._announce(s, alarm, rule, now)
        return alarm.id

    def _announce(self, s: Session, alarm: Alarm, rule: Rule, now: float) -> None:
        """A new alarm: silenced, inhibited by a fire on the same camera, or notified."""
        target = f"alarm:{alarm.id}"
        silence = self._silence_for(s, alarm, now)
        if silence is not None:
            alarm.silenced_by = silence.id
            audit(s, "system", "alarm.silenced", target, silence=silence.id, until=silence.ends_at)
            return
        same_camera = (Alarm.site == alarm.site, Alarm.node == alarm.node, Alarm.camera == alarm.camera)
        if alarm.type == "smoke":
            fire = s.scalar(select(Alarm).where(Alarm.type == "fire", Alarm.state.in_(OPEN), *same_camera).limit(1))
            if fire is not None:
                alarm.inhibited_by = fire.id
                audit(s, "system", "alarm.inhibited", target, by=f"alarm:{fire.id}")
                return
        if alarm.type == "fire":
            smokes = select(Alarm).where(
                Alarm.type == "smoke", Alarm.state.in_(OPEN), Alarm.inhibited_by.is_(None), *same_camera
            )
            for smoke in s.scalars(smokes):
                smoke.inhibited_by, smoke.next_action_at, smoke.updated_at = alarm.id, None, now
                self._cancel_pending(s, smoke.id)
                audit(s, "system", "alarm.inhibited", f"alarm:{smoke.id}", by=target)
        self._notify_level(s, alarm, rule, "alarm", now)

    @staticmethod
    def _silence_for(s: Session, alarm: Alarm, now: float) -> Silence | None:
        q = select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)
        for col, value in ((Silence.site, alarm.site), (Silence.building, alarm.building),
                           (Silence.camera, alarm.camera), (Silence.type, alarm.type)):  # fmt: skip
            q = q.where(or_(col.is_(None), col == value))
        return s.scalar(q.limit(1))

    # --- escalation --------------------------------------------------------------------
    def _notify_level(self, s: Session, alarm: Alarm, rule: Rule, kind: str, now: float) -> None:
        """Queue messages for the alarm's current level, skipping levels with nobody on duty,
        and set the escalation timer."""
        grid = self.rules.grid(alarm.grid)
        local = datetime.fromtimestamp(now, self.tz)
        skipped: list[str] = []
        people: list[str] = []
        for _ in range(len(rule.levels) * (rule.repeat + 1) + 1):
            if alarm.level >= len(rule.levels):
                if alarm.round >= rule.repeat:
                    break
                alarm.round, alarm.level = alarm.round + 1, 0
            people = self.rules.recipients(rule.levels[alarm.level], grid, local)
            if people:
                break
            skipped.append(rule.levels[alarm.level].value)
            alarm.level += 1
        target = f"alarm:{alarm.id}"
        alarm.updated_at = now
        if skipped:
            audit(s, "system", "alarm.level_skipped", target, levels=skipped, reason="nobody on duty")
        if not people:
            alarm.next_action_at = None
            audit(s, "system", "alarm.escalation_exhausted", target, round=alarm.round)
            return
        level = rule.levels[alarm.level]
        channels = self._queue(s, alarm, kind, f"{kind}:{alarm.round}:{alarm.level}", people, now,
                               due=now + (rule.group_wait_s if kind == "alarm" else 0),
                               group_key=f"{alarm.site}/{alarm.type}" if kind == "alarm" and rule.group_wait_s else None)  # fmt: skip
        alarm.next_action_at = now + rule.escalate_after_s
        action = "alarm.notify" if kind == "alarm" else "alarm.escalated"
        audit(s, "system", action, target, level=level.value, round=alarm.round, people=people, channels=channels)

    def _queue(self, s: Session, alarm: Alarm, kind: str, step: str, people: list[str], now: float,
               due: float | None = None, group_key: str | None = None) -> list[str]:  # fmt: skip
        """One delivery per channel, naming everyone on it (a group robot mentions them all)."""
        by_channel: dict[str, list[str]] = defaultdict(list)
        for key in people:
            for ch in self.rules.people[key].channels:
                by_channel[ch].append(key)
        for ch, keys in by_channel.items():
            s.add(Delivery(alarm_id=alarm.id, kind=kind, step=step, channel=ch, recipients=keys,
                           priority=alarm.severity, group_key=group_key, status="pending", created_at=now,
                           due_at=now if due is None else due))  # fmt: skip
        return sorted(by_channel)

    @staticmethod
    def _cancel_pending(
        s: Session, alarm_id: int, kinds: tuple[str, ...] = ("alarm", "escalation", "reminder", "assigned")
    ) -> None:
        s.execute(
            update(Delivery)
            .where(Delivery.alarm_id == alarm_id, Delivery.status == "pending", Delivery.kind.in_(kinds))
            .values(status="cancelled")
        )

    def run_timers(self, now: float) -> None:
        with self.db.session() as s:
            due = list(
                s.scalars(select(Alarm.id).where(Alarm.next_action_at <= now).order_by(Alarm.next_action_at).limit(100))
            )
        for alarm_id in due:
            try:
                with self.db.session.begin() as s:
                    q = select(Alarm).where(Alarm.id == alarm_id, Alarm.next_action_at <= now)
                    if not self.db.is_sqlite:
                        q = q.with_for_update(skip_locked=True)
                    alarm = s.scalar(q)
                    if alarm is not None:
                        self._timer(s, alarm, now)
            except StaleDataError:
                log.debug("alarm %s changed under us (another replica); skipping", alarm_id)

    def _timer(self, s: Session, alarm: Alarm, now: float) -> None:
        rule = self.rules.rule_for(alarm.type)
        if rule is None or alarm.state == "resolved":
            alarm.next_action_at = None
            return
        if alarm.state in ("triggered", "notified"):
            alarm.level += 1
            self._notify_level(s, alarm, rule, "escalation", now)
            return
        # acknowledged but not resolved in time: remind whoever acknowledged
        if alarm.reminders_sent >= rule.reminders:
            alarm.next_action_at = None
            return
        alarm.reminders_sent += 1
        who = [alarm.acked_by] if alarm.acked_by in self.rules.people else []
        if not who:
            grid = self.rules.grid(alarm.grid)
            who = self.rules.recipients(Level.grid_worker, grid, datetime.fromtimestamp(now, self.tz))
        channels = self._queue(s, alarm, "reminder", f"reminder:{alarm.reminders_sent}", who, now)
        alarm.next_action_at = now + rule.resolve_within_s
        alarm.updated_at = now
        audit(s, "system", "alarm.reminded", f"alarm:{alarm.id}", people=who, channels=channels, n=alarm.reminders_sent)

    # --- delivery ----------------------------------------------------------------------
    def dispatch(self, now: float) -> None:
        if time.monotonic() - self._last_recovery > 10:
            self._last_recovery = time.monotonic()
            with self.db.session.begin() as s:  # a replica died mid-send: at-least-once means send again
                s.execute(
                    update(Delivery)
                    .where(Delivery.status == "sending", Delivery.claimed_at < time.time() - STUCK_SENDING_S)
                    .values(status="pending")
                )
        with self.db.session() as s:
            rows = s.execute(
                select(Delivery.id, Delivery.channel)
                .where(Delivery.status == "pending", Delivery.due_at <= now)
                .order_by(Delivery.priority.desc(), Delivery.id)
                .limit(500)
            ).all()
        by_channel: dict[str, list[int]] = defaultdict(list)
        for delivery_id, channel in rows:
            by_channel[channel].append(delivery_id)
        for channel, ids in by_channel.items():
            with self._lock:
                if channel in self._busy:
                    continue  # its thread is still sending; it will be looked at next tick
                self._busy.add(channel)
                self._inflight += 1
            self._pool.submit(self._send_channel, channel, ids, now)

    def _send_channel(self, channel: str, ids: list[int], now: float) -> None:
        try:
            self._send_channel_inner(channel, ids, now)
        except Exception:
            log.exception("delivery on %s failed unexpectedly", channel)
        finally:
            with self._lock:
                self._busy.discard(channel)
                self._inflight -= 1
            self._wake.set()

    def _send_channel_inner(self, channel: str, ids: list[int], now: float) -> None:
        adapter = self.adapters.get(channel)
        with self.db.session() as s:
            items = list(s.scalars(select(Delivery).where(Delivery.id.in_(ids), Delivery.status == "pending")
                                  .order_by(Delivery.priority.desc(), Delivery.id)))  # fmt: skip
            # claimed_at and sent_at are wall-clock stamps: compare them with the wall clock
            window = s.execute(select(Delivery.sent_at, Delivery.messages).where(
                Delivery.channel == channel, Delivery.sent_at > time.time() - 60, Delivery.status == "sent")).all()  # fmt: skip
        if not items:
            return
        if adapter is None:
            self._finish(
                items, None, 0, DeliveryError(f"channel {channel!r} is not in the rules any more", permanent=True), now
            )
            return
        room = adapter.cfg.per_minute - sum(n for _, n in window)
        if room <= 0:
            free_at = min(t for t, _ in window) + 60
            with self.db.session.begin() as s:
                s.execute(update(Delivery).where(Delivery.id.in_([d.id for d in items])).values(due_at=free_at))
            return
        units: list[list[Delivery]] = []
        groups: dict[str, list[Delivery]] = {}
        for d in items:
            if d.group_key:
                groups.setdefault(d.group_key, []).append(d)
                if len(groups[d.group_key]) == 1:
                    units.append(groups[d.group_key])
            else:
                units.append([d])
        cost = 2 if getattr(adapter.cfg, "snapshot", False) else 1
        if len(units) > 1 and len(units) * cost > room:
            keep = max((room - 1) // cost, 0)
            units = units[:keep] + [[d for unit in units[keep:] for d in unit]]  # the overflow: one digest
        for unit in units:
            self._deliver(adapter, unit, now)

    def _claim(self, unit: list[Delivery]) -> list[Delivery]:
        claimed = []
        with self.db.session.begin() as s:
            for d in unit:
                res = s.execute(
                    update(Delivery)
                    .where(Delivery.id == d.id, Delivery.status == "pending")
                    .values(status="sending", claimed_at=time.time(), attempts=Delivery.attempts + 1)
                )
                if res.rowcount == 1:
                    d.attempts += 1
                    claimed.append(d)
        return claimed

    def _deliver(self, adapter: Adapter, unit: list[Delivery], now: float) -> None:
        unit = self._claim(unit)
        if not unit:
            return
        with self.db.session() as s:
            alarms = {a.id: a for a in s.scalars(select(Alarm).where(Alarm.id.in_({d.alarm_id for d in unit})))}
        keys = list(dict.fromkeys(k for d in unit for k in d.recipients))
        people = [self.rules.people[k] for k in keys if k in self.rules.people]
        if len(unit) == 1:
            msg = self._render(unit[0], alarms[unit[0].alarm_id], keys)
            snapshot = self.snapshot(alarms[unit[0].alarm_id])
            msg.snapshot = snapshot[0] if snapshot else None
        else:
            msg = self.renderer.digest([alarms[i] for i in dict.fromkeys(d.alarm_id for d in unit)])
        try:
            sent = adapter.send(msg, people)
        except DeliveryError as exc:
            log.warning("delivery %s on %s failed: %s", [d.id for d in unit], adapter.name, exc)
            self._finish(unit, adapter, 0, exc, now)
            return
        self._finish(unit, adapter, sent, None, now)

    def _render(self, d: Delivery, alarm: Alarm, keys: list[str]):
        extra: dict[str, Any] = {}
        if d.kind in ("alarm", "escalation", "reminder", "assigned") and keys and alarm.state != "resolved":
            ttl = self.rules.link_hours * 3600
            extra["ack_url"] = self.renderer.ack_url(make_token(self.secret, alarm.id, keys[0], ttl))
        grid = self.rules.grid(alarm.grid)
        extra["grid"] = grid.name or grid.id if grid else None
        rule = self.rules.rule_for(alarm.type)
        if d.kind == "escalation" and rule is not None:
            level = int(d.step.split(":")[2])
            extra["level"] = rule.levels[min(level, len(rule.levels) - 1)].value
            extra["minutes"] = max(1, round((d.created_at - alarm.opened_at) / 60))
        elif d.kind == "reminder":
            extra["who"] = self.display_name(alarm.acked_by)
            extra["minutes"] = max(1, round((d.created_at - (alarm.acked_at or alarm.opened_at)) / 60))
        elif d.kind == "resolved":
            extra["who"] = self.display_name(alarm.resolved_by)
        elif d.kind == "assigned":
            extra["who"] = self.display_name(alarm.assigned_to)
        return self.renderer.alarm(alarm, d.kind, extra)

    def display_name(self, who: str | None) -> str:
        """A person key or user name as people read it (`zhang` -> `张伟`)."""
        person = self.rules.people.get(who or "")
        return person.name if person else (who or "?")

    def snapshot_media(self, alarm: Alarm) -> Media | None:
        """The opening event's snapshot record, if the node uploaded one."""
        with self.db.session() as s:
            return s.scalar(select(Media).where(Media.event_id == alarm.first_event_id, Media.kind == "snapshot",
                                                Media.deleted_at.is_(None)).limit(1))  # fmt: skip

    def snapshot(self, alarm: Alarm) -> tuple[bytes, str] | None:
        """The opening event's snapshot (bytes, content type), if there is one on disk."""
        m = self.snapshot_media(alarm)
        try:
            return (self.media.read_bytes(m.key), m.content_type) if m is not None else None
        except (OSError, StoreUnavailable):
            return None

    def _finish(
        self, unit: list[Delivery], adapter: Adapter | None, sent: int, exc: DeliveryError | None, now: float
    ) -> None:
        at = time.time()
        with self.db.session.begin() as s:
            lead = unit[0]
            for d in unit:
                if exc is None:
                    values = dict(status="sent" if d is lead else "folded", sent_at=at, error=None,
                                  messages=sent if d is lead else 0, folded_into=None if d is lead else lead.id)  # fmt: skip
                elif exc.permanent or d.attempts >= self.cfg.alerting.max_attempts:
                    values = dict(status="failed", error=str(exc)[:500])
                    audit(
                        s, "system", "delivery.failed", f"alarm:{d.alarm_id}", channel=d.channel, error=str(exc)[:300]
                    )
                else:
                    retry = exc.retry_after_s if exc.retry_after_s is not None else backoff_s(d.attempts)
                    values = dict(status="pending", due_at=at + retry, error=str(exc)[:500])
                s.execute(update(Delivery).where(Delivery.id == d.id).values(**values))
            if exc is None:
                ids = {d.alarm_id for d in unit if d.kind in ("alarm", "escalation")}
                notified = s.execute(
                    update(Alarm)
                    .where(Alarm.id.in_(ids), Alarm.state == "triggered")
                    .values(state="notified", notified_at=at, updated_at=at, version=Alarm.version + 1)
                    .returning(Alarm.id)
                    .execution_options(synchronize_session=False)
                ).scalars()
                for alarm_id in notified:
                    audit(s, "system", "alarm.notified", f"alarm:{alarm_id}", channel=lead.channel,
                          latency_s=round(at - now, 3))  # fmt: skip

    # --- lifecycle -----------------------------------------------------------------------
    @contextmanager
    def _acting(self, alarm_id: int, link: Link | None) -> Iterator[tuple[Session, Alarm, float]]:
        """One person's action on an open alarm, in one transaction: a used link or a closed
        alarm says so; the link is spent with the action (its primary key settles a race)."""
        now = time.time()
        try:
            with self.db.session.begin() as s:
                alarm = self._get(s, alarm_id)
                if link is not None and s.get(LinkUse, link.nonce) is not None:
                    raise LinkError("this link was already used")
                if alarm.state == "resolved":
                    raise AlarmError(f"already resolved by {self.display_name(alarm.resolved_by)}")
                if link is not None:
                    s.add(LinkUse(nonce=link.nonce, alarm_id=alarm_id, used_at=now))
                yield s, alarm, now
        except IntegrityError:
            raise LinkError("this link was already used") from None
        except StaleDataError:
            raise AlarmError("the alarm changed meanwhile; look again and retry") from None

    def acknowledge(self, alarm_id: int, actor: str, person: str | None = None, link: Link | None = None) -> Alarm:
        with self._acting(alarm_id, link) as (s, alarm, now):
            if alarm.state == "acknowledged":
                raise AlarmError(f"already acknowledged by {self.display_name(alarm.acked_by)}")
            rule = self.rules.rule_for(alarm.type)
            alarm.state, alarm.acked_by, alarm.acked_at, alarm.updated_at = "acknowledged", person or actor, now, now
            alarm.next_action_at = now + rule.resolve_within_s if rule and rule.reminders else None
            self._cancel_pending(s, alarm.id)
            audit(s, actor, "alarm.acknowledged", f"alarm:{alarm.id}", person=person, via="link" if link else "console",
                  after_s=round(now - alarm.opened_at, 1))  # fmt: skip
        return alarm

    def assign(self, alarm_id: int, actor: str, person: str) -> Alarm:
        """Send a named person: they get the alarm on their own channels with an acknowledgement
        link of their own. The escalation runs on until someone acknowledges."""
        if person not in self.rules.people:
            raise AlarmError(f"no person {person!r} in the alerting rules", 422)
        with self._acting(alarm_id, None) as (s, alarm, now):
            alarm.assigned_to, alarm.updated_at = person, now
            channels = self._queue(s, alarm, "assigned", f"assigned:{person}:{int(now)}", [person], now)
            audit(s, actor, "alarm.assigned", f"alarm:{alarm.id}", person=person, channels=channels)
        return alarm

    def resolve(self, alarm_id: int, actor: str, outcome: str, note: str, person: str | None = None,
                photo: bytes | None = None, link: Link | None = None) -> Alarm:  # fmt: skip
        if outcome not in ("handled", "false_alarm"):
            raise AlarmError("outcome must be `handled` or `false_alarm`", 422)
        if not note.strip():
            raise AlarmError("say what was found or done (note)", 422)
        with self._acting(alarm_id, link) as (s, alarm, now):
            if photo is not None:
                alarm.photo_media_id = self._store_photo(s, alarm, photo, now)
            who = person or actor
            self._close(s, alarm, who, outcome, note.strip()[:2000], now)
            for muted in s.scalars(select(Alarm).where(Alarm.inhibited_by == alarm.id, Alarm.state.in_(OPEN))):
                self._close(s, muted, who, outcome, f"resolved with fire alarm {alarm.id}", now)
                audit(s, actor, "alarm.resolved", f"alarm:{muted.id}", outcome=outcome, with_alarm=alarm.id)
            sent = s.execute(select(Delivery.channel, Delivery.recipients).where(
                Delivery.alarm_id == alarm.id, Delivery.status == "sent")).all()  # fmt: skip
            told: dict[str, list[str]] = defaultdict(list)
            for channel, recipients in sent:
                told[channel].extend(r for r in recipients if r not in told[channel])
            for channel, recipients in told.items():
                cfg = self.rules.channels.get(channel)
                if cfg is not None and cfg.type != "sms":  # an SMS costs money and says nothing new
                    s.add(Delivery(alarm_id=alarm.id, kind="resolved", step="resolved", channel=channel,
                                   recipients=recipients, priority=alarm.severity, status="pending",
                                   created_at=now, due_at=now))  # fmt: skip
            audit(s, actor, "alarm.resolved", f"alarm:{alarm.id}", outcome=outcome, note=alarm.note, person=person,
                  via="link" if link else "console", photo=alarm.photo_media_id)  # fmt: skip
        self._record(alarm)
        return alarm

    def _close(self, s: Session, alarm: Alarm, who: str, outcome: str, note: str, now: float) -> None:
        if alarm.acked_at is None:
            alarm.acked_at, alarm.acked_by = now, who  # resolving on the spot acknowledges too
        alarm.state, alarm.resolved_by, alarm.resolved_at = "resolved", who, now
        alarm.outcome, alarm.note, alarm.open_key, alarm.next_action_at, alarm.updated_at = (
            outcome,
            note,
            None,
            None,
            now,
        )
        self._cancel_pending(s, alarm.id)

    def _store_photo(self, s: Session, alarm: Alarm, photo: bytes, now: float) -> int:
        if len(photo) > MAX_PHOTO_BYTES:
            raise AlarmError(f"photo of {len(photo)} bytes exceeds {MAX_PHOTO_BYTES}", 413)
        if photo[:3] == b"\xff\xd8\xff":
            ext, ctype = "jpg", "image/jpeg"
        elif photo[:8] == b"\x89PNG\r\n\x1a\n":
            ext, ctype = "png", "image/png"
        else:
            raise AlarmError("photo must be a JPEG or PNG image", 415)
        filename = f"photo-{int(now * 1000)}.{ext}"
        key = MediaStore.key(alarm.site, alarm.node, f"alarm-{alarm.id}", filename)
        try:
            self.media.put_bytes(key, photo, ctype)
        except StoreUnavailable as exc:
            raise AlarmError(f"the photo could not be stored ({exc}); try again", 503) from None
        m = Media(event_id=alarm.first_event_id, node=alarm.node, kind="photo", filename=filename, key=key,
                  content_type=ctype, sha256=hashlib.sha256(photo).hexdigest(), size=len(photo), stored_at=now)  # fmt: skip
        s.add(m)
        s.flush()
        return m.id

    @staticmethod
    def _get(s: Session, alarm_id: int) -> Alarm:
        alarm = s.get(Alarm, alarm_id)
        if alarm is None:
            raise AlarmError(f"no alarm {alarm_id}", 404)
        return alarm

    def _record(self, alarm: Alarm) -> None:
        """Time to acknowledge and resolve as a time-series point, for the trend charts."""
        point = Point(
            "alarms",
            alarm.resolved_at or time.time(),
            {"site": alarm.site, "node": alarm.node, "camera": alarm.camera or "", "building": alarm.building or "",
             "type": alarm.type},
            {"count": 1, "tta_s": (alarm.acked_at or alarm.opened_at) - alarm.opened_at,
             "ttr_s": (alarm.resolved_at or alarm.opened_at) - alarm.opened_at,
             "false_alarm": int(alarm.outcome == "false_alarm"), "grid": alarm.grid or "", "worker": alarm.acked_by or ""},
        )  # fmt: skip
        try:
            self.ts.write([point])
        except Exception as exc:
            log.error("could not write the alarm's time-series point: %s", exc)

    # --- closing the loop --------------------------------------------------------------
    def stats(self, since: float, until: float, site: str | None = None) -> dict[str, Any]:
        """Time to acknowledge and resolve per grid, worker and day (the service's time zone);
        false-alarm ratio per camera."""
        q = select(Alarm).where(Alarm.opened_at >= since, Alarm.opened_at < until, Alarm.silenced_by.is_(None))
        if site:
            q = q.where(Alarm.site == site)
        with self.db.session() as s:
            alarms = list(s.scalars(q))

        def summary(group: list[Alarm]) -> dict[str, Any]:
            tta = [a.acked_at - a.opened_at for a in group if a.acked_at]
            ttr = [a.resolved_at - a.opened_at for a in group if a.resolved_at]
            resolved = [a for a in group if a.state == "resolved"]
            false = sum(a.outcome == "false_alarm" for a in resolved)
            return {
                "alarms": len(group),
                "acknowledged": len(tta),
                "resolved": len(resolved),
                "false_alarms": false,
                "false_alarm_ratio": round(false / len(resolved), 3) if resolved else None,
                "median_ack_s": round(statistics.median(tta), 1) if tta else None,
                "median_resolve_s": round(statistics.median(ttr), 1) if ttr else None,
            }

        def by(key) -> dict[str, dict[str, Any]]:
            groups: dict[str, list[Alarm]] = defaultdict(list)
            for a in alarms:
                k = key(a)
                if k:
                    groups[k].append(a)
            return {k: summary(v) for k, v in sorted(groups.items())}

        return {
            "total": summary(alarms),
            "by_grid": by(lambda a: a.grid or "(no grid)"),
            "by_worker": by(lambda a: a.acked_by),
            "by_camera": by(lambda a: f"{a.site}/{a.node}/{a.camera or '-'}"),
            "by_day": by(lambda a: datetime.fromtimestamp(a.opened_at, self.tz).date().isoformat()),
        }
