"""Who is told about which alarm, on which channels, and when to escalate: the alerting rules.

The rules are a YAML document validated by these pydantic models, so an installer or a
property manager who mistypes a key gets `alerting.yaml:14 grids[0].workers[1].on_duty[0]: ...`
and the reference in docs/alerting-rules-reference.md is generated from the same descriptions.
The document is seeded from the file named in the cloud config and can be replaced through the
API (`PUT /api/alerting/rules`); the database keeps every revision.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from contract import EventType
from edge.yaml_source import ConfigError, LocatedYaml, pydantic_problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Severity(IntEnum):
    """Ordered so that `>=` reads naturally; written in YAML by name."""

    info = 0
    minor = 1
    major = 2
    critical = 3


class Level(StrEnum):
    """The escalation ladder of a Chinese housing estate: the grid's worker on duty, the grid
    leader, the property's security control room, the property manager."""

    grid_worker = "grid_worker"
    grid_leader = "grid_leader"
    control_room = "control_room"
    property_manager = "property_manager"


# --- channels --------------------------------------------------------------------------
class _Channel(_Section):
    per_minute: int = Field(20, ge=1, le=600, description="Most messages sent per minute; the rest fold into a digest.")
    timeout_s: float = Field(5, gt=0, le=60, description="HTTP or SMTP timeout of one delivery.")
    url: str | None = Field(None, description="Override the vendor's endpoint (a proxy, or a test receiver).")


class WeComChannel(_Channel):
    """WeCom (企业微信) group robot."""

    type: Literal["wecom"]
    key: SecretStr = Field(description="The robot's webhook key (`...webhook/send?key=KEY`).")
    snapshot: bool = Field(True, description="Follow each alarm with its snapshot as an image message (<= 2 MB).")


class DingTalkChannel(_Channel):
    """DingTalk (钉钉) custom robot with signing (加签)."""

    type: Literal["dingtalk"]
    access_token: SecretStr = Field(description="`access_token` of the robot's webhook URL.")
    secret: SecretStr = Field(description="The signing secret (starts with `SEC`).")


class FeishuChannel(_Channel):
    """Feishu / Lark custom bot with signature verification."""

    type: Literal["feishu"]
    token: SecretStr = Field(description="The hook token (`.../bot/v2/hook/<token>`).")
    secret: SecretStr = Field(description="The signing secret.")
    per_minute: int = Field(100, ge=1, le=600, description="Feishu allows 100/min and 5/s per bot.")


class WebhookChannel(_Channel):
    """A generic JSON webhook, signed `X-Gridwatch-Signature: sha256=<hex HMAC of timestamp.body>`."""

    type: Literal["webhook"]
    url: str = Field(description="Where the JSON is POSTed.")
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 key; unsigned when absent.")
    per_minute: int = Field(120, ge=1, le=6000)
    snapshot: bool = Field(False, description="Include the snapshot as base64 in `snapshot_jpeg_b64`.")


class SmsChannel(_Channel):
    """An SMS gateway that takes a template and string parameters (Aliyun-style). Parameters
    never carry URLs (carriers reject them), so the SMS says what and where, and points to the
    chat message or console for the rest."""

    type: Literal["sms"]
    url: str = Field(description="The gateway's HTTP endpoint.")
    sign_name: str = Field(description="The approved signature (签名), e.g. `某某物业`.")
    template_code: str = Field(description="The approved template, e.g. `SMS_123456`, with ${what} ${where} ${when}.")
    access_key: SecretStr | None = Field(None, description="Sent as header `X-Access-Key` when set.")
    per_minute: int = Field(10, ge=1, le=600)


class EmailChannel(_Channel):
    """E-mail through an SMTP server, with the snapshot attached."""

    type: Literal["email"]
    host: str = Field(description="SMTP server.")
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field(description="From address.")
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS before logging in.")
    per_minute: int = Field(30, ge=1, le=600)


Channel = Annotated[
    WeComChannel | DingTalkChannel | FeishuChannel | WebhookChannel | SmsChannel | EmailChannel,
    Field(discriminator="type"),
]


# --- people and schedules --------------------------------------------------------------
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SHIFT = re.compile(r"^(?:(?P<d1>[a-z]{3})(?:-(?P<d2>[a-z]{3}))?\s+)?(?P<h1>\d{1,2}:\d{2})-(?P<h2>\d{1,2}:\d{2})$")


def parse_shift(text: str) -> tuple[set[int], time, time]:
    """`mon-fri 08:00-20:00`, `sat 09:00-17:00` or `20:00-08:00` (every day, past midnight)."""
    m = _SHIFT.match(text.strip().lower())
    if not m:
        raise ValueError(f"shift {text!r}: write `mon-fri 08:00-20:00` (days optional, hours required)")
    d1, d2 = m["d1"], m["d2"]
    for d in (d1, d2):
        if d is not None and d not in _DAYS:
            raise ValueError(f"shift {text!r}: day {d!r} is not one of {', '.join(_DAYS)}")
    if d1 is None:
        days = set(range(7))
    else:
        a, b = _DAYS.index(d1), _DAYS.index(d2 or d1)
        days = {(a + i) % 7 for i in range((b - a) % 7 + 1)}
    try:
        h1, h2 = (time.fromisoformat(h.zfill(5)) for h in (m["h1"], m["h2"]))
    except ValueError:
        raise ValueError(f"shift {text!r}: hours must be HH:MM between 00:00 and 23:59") from None
    return days, h1, h2


def on_shift(shifts: list[str], at: datetime) -> bool:
    """True when local time `at` is inside one of the shifts; a shift that ends before it starts
    runs past midnight and belongs to the day it starts on, and one that ends where it starts
    (`00:00-00:00`) lasts 24 hours: an end time is exclusive, so `00:00-23:59` would leave
    the last minute of every day uncovered."""
    for text in shifts:
        days, h1, h2 = parse_shift(text)
        t, wd = at.time(), at.weekday()
        if h1 < h2:
            if wd in days and h1 <= t < h2:
                return True
        elif (wd in days and t >= h1) or ((wd - 1) % 7 in days and t < h2):
            return True
    return False


class Person(_Section):
    name: str = Field(description="Shown in messages and the console, e.g. `张伟`.")
    mobile: str | None = Field(None, pattern=r"^\+?\d{6,15}$", description="For SMS and @mentions in group robots.")
    email: str | None = None
    user: str | None = Field(
        None, description="Console user name, so acknowledgements in the console count for this person."
    )
    channels: list[str] = Field(
        default_factory=list, description="Channel names (from `channels`) this person is told on."
    )


class Duty(_Section):
    person: str = Field(description="A key of `people`.")
    on_duty: list[str] = Field(
        default_factory=lambda: ["00:00-00:00"],
        description="Shifts in the site's time zone: `mon-fri 08:00-20:00`, `sat-sun 09:00-17:00`, `20:00-08:00`; "
        "the end is exclusive and `00:00-00:00` is the whole day (the default: always on duty).",
    )

    @field_validator("on_duty")
    @classmethod
    def _shifts(cls, v: list[str]) -> list[str]:
        for s in v:
            parse_shift(s)
        return v


class Grid(_Section):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Stable id used in statistics.")
    name: str = Field("", description="Shown in messages, e.g. `一网格`.")
    buildings: list[str] = Field(min_length=1, description="`site/building` (or `site/*`) this grid covers.")
    workers: list[Duty] = Field(min_length=1, description="Grid workers (网格员) and their shifts.")
    leader: str | None = Field(None, description="The grid leader (网格长), a key of `people`.")

    @field_validator("buildings")
    @classmethod
    def _buildings(cls, v: list[str]) -> list[str]:
        for b in v:
            if b.count("/") != 1 or not all(b.split("/")):
                raise ValueError(f"building {b!r}: write `site/building`, e.g. `demo/7`, or `demo/*`")
        return v


# --- rules -----------------------------------------------------------------------------
class Rule(_Section):
    name: str = Field(description="Shown in the audit log.")
    types: list[EventType] = Field(
        min_length=1,
        description=f"Event types this rule handles ({', '.join(EventType)}); the first matching rule wins.",
    )
    severity: Literal["info", "minor", "major", "critical"] = Field(description="Severity of the alarm.")
    group_wait_s: float = Field(
        0,
        ge=0,
        le=3600,
        description="Hold the first message this long to group alarms of the same type (0: send at once).",
    )
    dedup_window_s: float = Field(
        600,
        ge=0,
        le=86400,
        description="Repeat detections of the same camera and type within this long of the last one update the open alarm.",
    )
    levels: list[Level] = Field(
        default_factory=lambda: [Level.grid_worker, Level.grid_leader, Level.control_room, Level.property_manager],
        min_length=1,
        description="The escalation ladder, first level notified at once.",
    )
    escalate_after_s: float = Field(120, ge=5, description="Unacknowledged this long: notify the next level.")
    repeat: int = Field(1, ge=0, le=10, description="After the last level, run the ladder again this many times.")
    resolve_within_s: float = Field(1800, ge=60, description="Acknowledged but not resolved this long: remind.")
    reminders: int = Field(3, ge=0, le=20, description="Most reminders after an acknowledgement.")

    @property
    def rank(self) -> Severity:
        return Severity[self.severity]


DEFAULT_RULES: list[dict] = [
    {"name": "fire", "types": ["fire", "smoke"], "severity": "critical", "group_wait_s": 0, "escalate_after_s": 120, "repeat": 3},
    {"name": "thrown", "types": ["thrown_object"], "severity": "major", "group_wait_s": 0, "escalate_after_s": 300},
    {"name": "camera", "types": ["camera_offline", "camera_tamper"], "severity": "minor", "group_wait_s": 60,
     "dedup_window_s": 3600, "escalate_after_s": 1800, "levels": ["control_room", "property_manager"], "repeat": 0},
    {"name": "test", "types": ["test"], "severity": "info", "group_wait_s": 0, "levels": ["control_room"], "repeat": 0,
     "escalate_after_s": 600},
]  # fmt: skip


class AlertingRules(_Section):
    """The whole rules document."""

    language: Literal["zh", "en"] = Field("zh", description="Language of messages.")
    console_url: str = Field(
        "http://127.0.0.1:8080",
        description="Base URL of the console as the grid workers' phones reach it; links in messages start with it.",
    )
    link_hours: float = Field(
        24, gt=0, le=24 * 7, description="An acknowledgement link in a message expires after this long."
    )
    channels: dict[str, Channel] = Field(default_factory=dict, description="Named channel instances.")
    people: dict[str, Person] = Field(default_factory=dict, description="Everyone who may be told, by a short key.")
    grids: list[Grid] = Field(default_factory=list, description="Grids (网格) and the buildings they cover.")
    control_room: list[Duty] = Field(
        default_factory=list, description="The security control room (监控室) staff and shifts."
    )
    property_manager: list[str] = Field(default_factory=list, description="The property manager(s), keys of `people`.")
    rules: list[Rule] = Field(default_factory=lambda: [Rule.model_validate(r) for r in DEFAULT_RULES])

    @model_validator(mode="after")
    def _references(self) -> AlertingRules:
        problems = []

        def person(ref: str, where: str) -> None:
            if ref not in self.people:
                problems.append(f"{where}: no person {ref!r} in `people`")

        for key, p in self.people.items():
            for ch in p.channels:
                if ch not in self.channels:
                    problems.append(f"people.{key}.channels: no channel {ch!r} in `channels`")
        for i, g in enumerate(self.grids):
            for w in g.workers:
                person(w.person, f"grids[{i}].workers")
            if g.leader:
                person(g.leader, f"grids[{i}].leader")
        for d in self.control_room:
            person(d.person, "control_room")
        for ref in self.property_manager:
            person(ref, "property_manager")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def rule_for(self, event_type: str) -> Rule | None:
        return next((r for r in self.rules if event_type in r.types), None)

    def grid(self, grid_id: str | None) -> Grid | None:
        return next((g for g in self.grids if g.id == grid_id), None)

    def grid_of(self, site: str, building: str | None) -> Grid | None:
        for g in self.grids:
            if f"{site}/{building}" in g.buildings or f"{site}/*" in g.buildings:
                return g
        return None

    def person_of_user(self, username: str) -> str | None:
        return next((k for k, p in self.people.items() if p.user == username), None)

    def recipients(self, level: Level, grid: Grid | None, at: datetime) -> list[str]:
        """People to tell at `level` for an alarm in `grid`, at local time `at` (on shift only)."""
        if level is Level.grid_worker:
            return [d.person for d in (grid.workers if grid else []) if on_shift(d.on_duty, at)]
        if level is Level.grid_leader:
            return [grid.leader] if grid and grid.leader else []
        if level is Level.control_room:
            return [d.person for d in self.control_room if on_shift(d.on_duty, at)]
        return list(self.property_manager)


def parse_rules(text: str, name: str = "alerting.yaml", env: dict[str, str] | None = None) -> AlertingRules:
    """Validate a rules document; ConfigError lists every problem as `name:line key.path: msg`."""
    doc = LocatedYaml(Path(name), text)
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError([f"{name}:1 (top level): expected a mapping of keys, got {type(doc.data).__name__}"])
    doc.substitute_env(env)
    try:
        return AlertingRules.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(pydantic_problems(doc, exc.errors())) from None
