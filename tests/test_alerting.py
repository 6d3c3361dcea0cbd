"""Alerting against real local receivers: exact vendor payloads and signatures, escalation and
reminders on a driven clock, acknowledgement through the signed one-time link, resolve with a
note and photo, dedup, inhibition, silences, grouping, rate limits folded into digests, retries,
restart and two replicas, e-mail through a real SMTP server, the rules API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from urllib.parse import parse_qs

import cv2
import numpy as np
import pytest
from aiosmtpd.controller import Controller
from conftest import CloudEnv, wait_for
from fastapi.testclient import TestClient
from receivers import Receiver
from sqlalchemy import select
from test_api import make_event

from cloud.alerting.channels import dingtalk_sign, feishu_sign
from cloud.alerting.engine import save_rules
from cloud.alerting.rules import Level, on_shift, parse_rules
from cloud.api import create_app
from cloud.auth import Role, create_user
from cloud.db import Alarm, AuditEntry, Delivery, Media
from cloud.ingest import Incoming
from cloud.service import CloudService
from contract import EventType
from edge.devbroker import free_port
from edge.yaml_source import ConfigError

ESCALATE = 120
RESOLVE_WITHIN = 600


def rules_yaml(r: dict[str, Receiver], smtp_port: int = 1, wecom_per_minute: int = 20, wecom_snapshot: bool = True,
               **rule_overrides) -> str:  # fmt: skip
    rules = [
        {"name": "fire", "types": ["fire", "smoke"], "severity": "critical", "escalate_after_s": ESCALATE},
        {"name": "thrown", "types": ["thrown_object"], "severity": "major", "escalate_after_s": ESCALATE,
         "resolve_within_s": RESOLVE_WITHIN, "reminders": 1, "repeat": 0},
        {"name": "camera", "types": ["camera_offline", "camera_tamper"], "severity": "minor", "group_wait_s": 60,
         "levels": ["control_room"], "repeat": 0},
    ]  # fmt: skip
    for rule in rules:
        rule.update(rule_overrides)
    doc = {
        "language": "zh",
        "console_url": "https://gw.example.cn",
        "channels": {
            "grid7": {"type": "wecom", "key": "KEY7", "url": f"{r['wecom'].url}/cgi-bin/webhook/send",
                      "per_minute": wecom_per_minute, "snapshot": wecom_snapshot},
            "leaders": {"type": "dingtalk", "access_token": "TOK", "secret": "SECtest0123456789",
                        "url": f"{r['dingtalk'].url}/robot/send"},
            "room": {"type": "feishu", "token": "hook-token", "secret": "feishu_secret_demo",
                     "url": f"{r['feishu'].url}/open-apis/bot/v2/hook/"},
            "ops": {"type": "webhook", "url": f"{r['webhook'].url}/hook", "secret": "whsec"},
            "sms": {"type": "sms", "url": f"{r['sms'].url}/sms", "sign_name": "某某物业", "template_code": "SMS_1"},
            "mail": {"type": "email", "host": "127.0.0.1", "port": smtp_port, "sender": "gridwatch@example.cn"},
        },
        "people": {
            "zhang": {"name": "张伟", "mobile": "13800000001", "user": "zhangwei", "channels": ["grid7"]},
            "li": {"name": "李娜", "mobile": "13800000002", "channels": ["leaders", "sms"]},
            "room": {"name": "监控室", "channels": ["room", "ops"]},
            "wang": {"name": "王经理", "email": "wang@example.cn", "channels": ["mail"]},
        },
        "grids": [{"id": "g1", "name": "一网格", "buildings": ["demo/7"], "workers": [{"person": "zhang"}],
                   "leader": "li"}],  # fmt: skip
        "control_room": [{"person": "room"}],
        "property_manager": ["wang"],
        "rules": rules,
    }  # fmt: skip
    return json.dumps(doc, ensure_ascii=False)  # JSON is YAML


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    r = {
        "wecom": Receiver(),
        "dingtalk": Receiver(),
        "feishu": Receiver({"code": 0, "msg": "success"}),
        "webhook": Receiver({}),
        "sms": Receiver({"Code": "OK", "Message": "OK"}),
    }
    yield r
    for x in r.values():
        x.close()


class Site:
    """A cloud service without background threads: the test drives the engine's clock."""

    def __init__(self, env: CloudEnv, rules: str | None = None) -> None:
        cfg = env.cfg.model_copy(deep=True)
        cfg.ingest.workers = 0
        self.env = env
        self.svc = CloudService(cfg)
        if rules is not None:
            save_rules(env.db, rules, "test")
            self.svc.alerts.reload()
        self.engine = self.svc.alerts
        self.client = TestClient(create_app(self.svc), follow_redirects=False)

    def event(self, type: EventType = EventType.thrown_object, camera: str = "cam1", **kw) -> str:
        if type is not EventType.thrown_object:
            kw.setdefault("thrown", None)
        e = make_event(clip=None, type=type, camera=camera, **kw)
        self.svc.ingestor.store([Incoming("gridwatch/demo/edge-1/event", e.model_dump_json().encode())])
        return e.event_id

    def step(self, now: float) -> None:
        self.engine.step(now)
        self.engine.wait_idle()

    def alarms(self) -> list[Alarm]:
        with self.env.db.session() as s:
            return list(s.scalars(select(Alarm).order_by(Alarm.id)))

    def deliveries(self, **where) -> list[Delivery]:
        with self.env.db.session() as s:
            q = select(Delivery).order_by(Delivery.id)
            for k, v in where.items():
                q = q.where(getattr(Delivery, k) == v)
            return list(s.scalars(q))

    def trail(self, alarm_id: int) -> list[str]:
        with self.env.db.session() as s:
            q = select(AuditEntry.action).where(AuditEntry.target == f"alarm:{alarm_id}").order_by(AuditEntry.id)
            return list(s.scalars(q))

    def close(self) -> None:
        self.client.close()
        self.svc.stop()


@pytest.fixture
def site(cloud_env: CloudEnv, receivers: dict[str, Receiver]) -> Iterator[Site]:
    s = Site(cloud_env, rules_yaml(receivers))
    yield s
    s.close()


def jpeg() -> bytes:
    img = np.full((48, 64, 3), 90, np.uint8)
    return cv2.imencode(".jpg", img)[1].tobytes()


ACK_LINK = re.compile(r"确认接警：https://gw\.example\.cn/a/([A-Za-z0-9_.-]+)$")


def ack_token(content: str) -> str:
    m = ACK_LINK.search(content.splitlines()[-1])
    assert m, content
    return m.group(1)


# --- signing and rules -----------------------------------------------------------------------
def test_vendor_signatures_reproduce_the_field_notes_vectors() -> None:
    assert dingtalk_sign("SECtest0123456789", 1700000000000) == "yBKp5IlG6qCzcQWmgyRK%2FziJBdVNJmHfFE2ST%2FCzT%2Fg%3D"
    assert feishu_sign("feishu_secret_demo", 1700000000) == "WlY1xRggHyn592ttb1oDtGhUjpb8tN8kck1b6Jf9MTI="


def test_rules_errors_name_line_and_key_path() -> None:
    text = "channels: {}\npeople:\n  a: {name: A, channels: [nope]}\ngrids:\n  - id: g1\n    buildings: [demo/7]\n    workers:\n      - person: a\n        on_duty: ['mon-fri 8-20']\n"
    with pytest.raises(ConfigError) as err:
        parse_rules(text, "alerting.yaml")
    assert any(p.startswith("alerting.yaml:9 grids[0].workers[0].on_duty") and "mon-fri 08:00-20:00" in p
               for p in err.value.problems), err.value.problems  # fmt: skip
    with pytest.raises(ConfigError) as err:
        parse_rules("people:\n  a: {name: A, channels: [nope]}\n", "alerting.yaml")
    assert "people.a.channels: no channel 'nope'" in err.value.problems[0]
    with pytest.raises(ConfigError) as err:
        parse_rules("rules:\n  - {name: x, types: [fire], severity: critical, escalate_after: 5}\n", "r.yaml")
    assert err.value.problems == [
        "r.yaml:2 rules[0].escalate_after: unknown key (check the spelling; see docs/EDGE.md for the keys allowed here)"
    ]
    assert parse_rules("").rule_for("fire").severity == "critical"  # defaults: fire is critical


def test_shifts_past_midnight_belong_to_the_day_they_start() -> None:
    fri_23 = datetime(2026, 11, 20, 23, 0)
    sat_07 = datetime(2026, 11, 21, 7, 0)
    sat_12 = datetime(2026, 11, 21, 12, 0)
    assert on_shift(["fri 20:00-08:00"], fri_23) and on_shift(["fri 20:00-08:00"], sat_07)
    assert not on_shift(["fri 20:00-08:00"], sat_12)
    assert on_shift(["mon-fri 08:00-20:00", "sat-sun 09:00-17:00"], sat_12)
    assert not on_shift(["mon-fri 08:00-20:00"], sat_12)


def test_a_worker_without_shifts_is_on_duty_in_the_last_minute_of_the_day() -> None:
    """The default shift covers all 24 hours; the end of a shift is exclusive, so a default of
    00:00-23:59 once dropped the grid worker from alarms raised at 23:59 site time."""
    rules = parse_rules(
        "channels: {}\npeople:\n  a: {name: A}\ngrids:\n  - id: g1\n    buildings: [demo/7]\n"
        "    workers:\n      - person: a\n",
        "alerting.yaml",
        {},
    )
    grid = rules.grid_of("demo", "7")
    for at in (datetime(2026, 11, 20, 23, 59, 30), datetime(2026, 11, 21, 0, 0), datetime(2026, 11, 21, 12, 0)):
        assert rules.recipients(Level.grid_worker, grid, at) == ["a"], at
    assert on_shift(["sat 00:00-00:00"], datetime(2026, 11, 21, 23, 59, 59))
    assert not on_shift(["sat 00:00-00:00"], datetime(2026, 11, 22, 0, 0))
    assert not on_shift(["08:00-20:00"], datetime(2026, 11, 21, 20, 0))


# --- the whole lifecycle ---------------------------------------------------------------------
def test_thrown_object_notify_escalate_ack_by_link_remind_resolve(site: Site, receivers: dict[str, Receiver]) -> None:
    event_id = site.event(floor=12)
    t0 = time.time()
    site.step(t0)
    (alarm,) = site.alarms()
    assert (alarm.state, alarm.grid, alarm.floor, alarm.unit) == ("notified", "g1", 12, "02")

    # The grid worker's WeCom group: a text message mentioning the on-duty worker.
    (req,) = receivers["wecom"].got()  # no snapshot uploaded: no image message
    assert req.path == "/cgi-bin/webhook/send" and req.query == "key=KEY7"
    body = req.json()
    assert set(body) == {"msgtype", "text"} and body["msgtype"] == "text"
    assert body["text"]["mentioned_mobile_list"] == ["13800000001"]
    lines = body["text"]["content"].splitlines()
    assert lines[0] == "【重要】高空抛物 · 7栋"
    assert lines[1] == "疑似抛出位置：7栋 12层 02户位 (摄像头 cam1)"
    assert lines[2].startswith("时间：") and lines[3] == "置信度：90%" and lines[4] == "网格：一网格"
    assert lines[5] == f"查看事件：https://gw.example.cn/events/{event_id}"
    token = ack_token(body["text"]["content"])
    assert not receivers["dingtalk"].got()

    # Nobody acknowledges: the grid leader is told on DingTalk (signed) and by SMS.
    site.step(t0 + ESCALATE - 1)
    assert not receivers["dingtalk"].got()
    site.step(t0 + ESCALATE + 1)
    (dt,) = receivers["dingtalk"].got()
    q = parse_qs(dt.query)
    assert q["access_token"] == ["TOK"]
    ts = int(q["timestamp"][0])
    raw_sign = dt.query.split("sign=", 1)[1]
    assert raw_sign == dingtalk_sign("SECtest0123456789", ts)
    md = dt.json()
    assert md["msgtype"] == "markdown" and md["at"] == {"atMobiles": ["13800000002"], "isAtAll": False}
    assert "升级至网格长：2 分钟无人确认" in md["markdown"]["text"] and md["markdown"]["text"].endswith("@13800000002")
    (sms,) = receivers["sms"].got()
    sms_body = sms.json()
    assert sms_body["PhoneNumbers"] == "13800000002" and sms_body["TemplateCode"] == "SMS_1"
    params = json.loads(sms_body["TemplateParam"])
    assert set(params) == {"what", "where", "when"} and params["what"] == "高空抛物"
    assert "http" not in sms_body["TemplateParam"]
    assert not receivers["feishu"].got()  # the rule has repeat 0 and the leader is level 2 of 4

    # The worker opens the chat link on the phone and acknowledges; the link works once.
    page = site.client.get(f"/a/{token}")
    assert page.status_code == 200 and "确认接警" in page.text and "7栋 12层" in page.text
    r = site.client.post(f"/a/{token}/ack")
    assert r.status_code == 303 and r.headers["location"].startswith("/a/")
    assert site.client.post(f"/a/{token}/ack").status_code == 410
    (alarm,) = site.alarms()
    assert (alarm.state, alarm.acked_by) == ("acknowledged", "zhang")
    next_token = r.headers["location"].removeprefix("/a/")
    assert "处理完毕" in site.client.get(f"/a/{next_token}").text

    # Acknowledged but not resolved in time: a reminder to the worker.
    n = len(receivers["wecom"].got())
    site.step(t0 + ESCALATE + RESOLVE_WITHIN + 5)
    assert "提醒：张伟 已确认" in receivers["wecom"].got()[n].json()["text"]["content"]

    # Resolved from the phone with a note and a photo; everyone told hears it is closed.
    r = site.client.post(f"/a/{next_token}/resolve", data={"outcome": "handled", "note": "12楼住户承认，已教育"},
                         files={"photo": ("p.jpg", jpeg(), "image/jpeg")})  # fmt: skip
    assert r.status_code == 200 and "已处理完毕" in r.text
    (alarm,) = site.alarms()
    assert (alarm.state, alarm.outcome, alarm.resolved_by, alarm.note) == (
        "resolved",
        "handled",
        "zhang",
        "12楼住户承认，已教育",
    )
    assert alarm.photo_media_id is not None
    site.step(time.time())
    assert "已处理 · 处理人：张伟" in receivers["wecom"].got()[-1].json()["text"]["content"]
    assert "已处理" in receivers["dingtalk"].got()[-1].json()["markdown"]["text"]
    assert len(receivers["sms"].got()) == 1  # no SMS for the closing notice
    assert site.trail(alarm.id) == [
        "alarm.triggered", "alarm.notify", "alarm.notified", "alarm.escalated", "alarm.acknowledged",
        "alarm.reminded", "alarm.resolved",
    ]  # fmt: skip


def test_console_ack_and_resolve_and_stats(site: Site) -> None:
    site.event()
    site.step(time.time())
    (alarm,) = site.alarms()
    create_user(site.env.db, "zhangwei", "correct horse battery", Role.grid_worker, ["demo/7"])
    create_user(site.env.db, "outsider", "correct horse battery", Role.grid_worker, ["demo/9"])
    create_user(site.env.db, "boss", "correct horse battery", Role.operator)

    def login(name: str) -> dict[str, str]:
        r = site.client.post("/api/auth/login", json={"username": name, "password": "correct horse battery"})
        return {"Authorization": f"Bearer {r.json()['token']}"}

    me, other, boss = login("zhangwei"), login("outsider"), login("boss")
    assert site.client.post(f"/api/alarms/{alarm.id}/ack", headers=other).status_code == 404
    r = site.client.post(f"/api/alarms/{alarm.id}/ack", headers=me)
    assert r.status_code == 200 and r.json()["acked_by"] == "zhang"  # the console user maps to the person
    assert site.client.post(f"/api/alarms/{alarm.id}/ack", headers=me).status_code == 409
    r = site.client.post(f"/api/alarms/{alarm.id}/resolve", headers=me, data={"outcome": "false_alarm", "note": " "})
    assert r.status_code == 422 and "note" in r.json()["detail"]
    r = site.client.post(f"/api/alarms/{alarm.id}/resolve", headers=me, data={"outcome": "false_alarm", "note": "鸟"})
    assert r.json()["state"] == "resolved"
    detail = site.client.get(f"/api/alarms/{alarm.id}", headers=boss).json()
    assert [a["action"] for a in detail["audit"]][-2:] == ["alarm.acknowledged", "alarm.resolved"]
    assert detail["deliveries"][0]["channel"] == "grid7" and detail["deliveries"][0]["status"] == "sent"
    stats = site.client.get("/api/alarms/stats", headers=boss).json()
    assert stats["by_grid"]["g1"]["alarms"] == 1 and stats["by_worker"]["zhang"]["acknowledged"] == 1
    assert stats["by_camera"]["demo/edge-1/cam1"]["false_alarm_ratio"] == 1.0
    assert site.client.get("/api/alarms/stats", headers=me).status_code == 403
    points = site.svc.ts.query("alarms", "false_alarm", 0, time.time() + 10, 3600, "sum", {"building": "7"})
    assert sum(v for _, v in points) == 1  # the trend charts see it too


def test_the_control_room_assigns_a_person_who_is_told_with_their_own_link(site: Site, receivers) -> None:
    site.event()
    site.step(time.time())
    (alarm,) = site.alarms()
    create_user(site.env.db, "boss", "correct horse battery", Role.operator)
    create_user(site.env.db, "zhangwei", "correct horse battery", Role.grid_worker, ["demo/7"])
    tokens = {n: site.client.post("/api/auth/login", json={"username": n, "password": "correct horse battery"}).json()["token"]
              for n in ("boss", "zhangwei")}  # fmt: skip
    boss, worker = ({"Authorization": f"Bearer {tokens[n]}"} for n in ("boss", "zhangwei"))
    people = site.client.get("/api/alerting/people", headers=boss).json()
    assert {"key": "li", "name": "李娜", "user": None} in people
    assert site.client.post(f"/api/alarms/{alarm.id}/assign", headers=worker, json={"person": "li"}).status_code == 403
    r = site.client.post(f"/api/alarms/{alarm.id}/assign", headers=boss, json={"person": "nobody"})
    assert r.status_code == 422 and "nobody" in r.json()["detail"]
    before = len(receivers["dingtalk"].got())
    r = site.client.post(f"/api/alarms/{alarm.id}/assign", headers=boss, json={"person": "li"})
    assert r.status_code == 200 and r.json()["assigned_to"] == "li" and r.json()["state"] == "notified"
    site.step(time.time())
    msgs = wait_for(lambda: receivers["dingtalk"].got()[before:], 5, "the assignee's message")
    text = msgs[0].json()["markdown"]["text"]
    assert "监控室指派李娜前往处置" in text and "/a/" in text and msgs[0].json()["at"]["atMobiles"] == ["13800000002"]
    assert site.trail(alarm.id)[-1] == "alarm.assigned"
    site.client.post(f"/api/alarms/{alarm.id}/resolve", headers=boss, data={"outcome": "handled", "note": "ok"})
    r = site.client.post(f"/api/alarms/{alarm.id}/assign", headers=boss, json={"person": "li"})
    assert r.status_code == 409, "a resolved alarm is not assigned"


def test_repeats_join_fire_mutes_smoke_and_resolving_fire_closes_both(site: Site, receivers) -> None:
    t0 = time.time()
    site.event(EventType.smoke)
    site.step(t0)
    site.event(EventType.smoke)
    site.step(t0 + 1)
    (smoke,) = site.alarms()
    assert smoke.event_count == 2 and len(receivers["wecom"].got()) == 1
    site.event(EventType.fire)
    site.step(t0 + 2)
    smoke, fire = site.alarms()
    assert smoke.inhibited_by == fire.id and smoke.next_action_at is None
    site.step(t0 + ESCALATE + 5)  # only the fire escalates
    assert [d.alarm_id for d in site.deliveries(kind="escalation")] == [fire.id, fire.id]
    site.engine.resolve(fire.id, "boss", "handled", "灭火器扑灭")
    smoke, fire = site.alarms()
    assert smoke.state == "resolved" and smoke.note == f"resolved with fire alarm {fire.id}"


def test_a_silence_mutes_matching_alarms_until_it_ends(site: Site, receivers) -> None:
    create_user(site.env.db, "boss", "correct horse battery", Role.operator)
    token = site.client.post("/api/auth/login", json={"username": "boss", "password": "correct horse battery"}).json()[
        "token"
    ]
    h = {"Authorization": f"Bearer {token}"}
    r = site.client.post("/api/silences", headers=h, json={"site": "demo", "building": "7", "comment": "外墙清洗",
                                                           "ends_at": datetime.fromtimestamp(time.time() + 3600, UTC).isoformat()})  # fmt: skip
    assert r.status_code == 201
    site.event()
    site.event(building="8", camera="cam8")
    site.step(time.time())
    silenced, other = site.alarms()
    assert silenced.silenced_by == r.json()["id"] and other.silenced_by is None
    assert not site.deliveries(alarm_id=silenced.id)
    assert site.client.delete(f"/api/silences/{r.json()['id']}", headers=h).status_code == 204
    assert site.client.get("/api/silences", headers=h).json() == []


def test_minor_alarms_are_grouped_into_one_message(site: Site, receivers) -> None:
    t0 = time.time()
    for cam in ("c1", "c2", "c3"):
        site.event(EventType.camera_offline, camera=cam)
    site.step(t0)
    assert not receivers["feishu"].got()  # held for the group window
    site.step(t0 + 61)
    (req,) = receivers["feishu"].got()
    body = req.json()
    assert body["timestamp"].isdigit() and body["sign"] == feishu_sign("feishu_secret_demo", int(body["timestamp"]))
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "另有 3 条告警" and len(post["content"]) == 4  # 3 alarms + the link row
    (hook,) = receivers["webhook"].got()
    ts = hook.headers["x-gridwatch-timestamp"]
    expected = "sha256=" + hmac.new(b"whsec", f"{ts}.".encode() + hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["x-gridwatch-signature"] == expected
    assert [a["camera"] for a in hook.json()["alarms"]] == ["c1", "c2", "c3"]


def test_rate_limit_overflow_is_folded_into_a_digest(cloud_env: CloudEnv, receivers) -> None:
    site = Site(cloud_env, rules_yaml(receivers, wecom_per_minute=3, wecom_snapshot=False))
    try:
        for i in range(6):
            site.event(camera=f"cam{i}")
        site.step(time.time())
        got = receivers["wecom"].got()
        assert len(got) == 3  # 2 alarms singly and 1 digest of the other 4: the vendor's limit is kept
        assert got[2].json()["text"]["content"].startswith("另有 4 条告警")
        statuses = [d.status for d in site.deliveries()]
        assert statuses.count("sent") == 3 and statuses.count("folded") == 3
        site.event(camera="cam9")
        site.step(time.time())
        assert len(receivers["wecom"].got()) == 3  # the minute is used up: it waits
        (late,) = site.deliveries(status="pending")
        assert late.due_at > time.time() + 30
    finally:
        site.close()


def test_failed_delivery_is_retried_with_backoff(cloud_env: CloudEnv, receivers) -> None:
    calls = {"n": 0}

    def flaky(req):
        calls["n"] += 1
        return (
            (200, {"errcode": 45009, "errmsg": "api freq out of limit"}) if calls["n"] == 1 else (200, {"errcode": 0})
        )

    receivers["wecom"].answer = flaky
    site = Site(cloud_env, rules_yaml(receivers))
    try:
        site.event()
        t0 = time.time()
        site.step(t0)
        (d,) = site.deliveries()
        assert d.status == "pending" and d.attempts == 1 and "45009" in d.error and d.due_at >= t0 + 59
        site.step(d.due_at + 1)
        (d,) = site.deliveries()
        assert d.status == "sent" and d.attempts == 2
        assert site.alarms()[0].state == "notified"
    finally:
        site.close()


def test_timers_survive_a_restart_and_fire_once_with_two_replicas(cloud_env: CloudEnv, receivers) -> None:
    first = Site(cloud_env, rules_yaml(receivers))
    first.event()
    t0 = time.time()
    first.step(t0)
    first.close()  # the cloud goes away in the middle of the wait
    a, b = Site(cloud_env), Site(cloud_env)  # two replicas on the same database, rules from it
    try:
        barrier = threading.Barrier(2)

        def run(site: Site) -> None:
            barrier.wait()
            site.step(t0 + ESCALATE + 1)

        threads = [threading.Thread(target=run, args=(s,)) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        escalations = a.deliveries(kind="escalation")
        assert sorted(d.channel for d in escalations) == ["leaders", "sms"]
        assert len(receivers["dingtalk"].got()) == 1 and len(receivers["sms"].got()) == 1
        assert len(receivers["wecom"].got()) == 1  # what was confirmed before the restart is not sent again
        assert a.trail(a.alarms()[0].id).count("alarm.escalated") == 1
    finally:
        a.close()
        b.close()


def test_email_goes_through_a_real_smtp_server(cloud_env: CloudEnv, receivers, tmp_path: Path) -> None:
    got: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
            got.append(envelope.content)
            return "250 OK"

    port = free_port()
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        site = Site(cloud_env, rules_yaml(receivers, smtp_port=port, levels=["property_manager"]))
        try:
            event_id = site.event()
            site.step(time.time())
        finally:
            site.close()
    finally:
        smtp.stop()
    (raw,) = got
    mail = message_from_bytes(raw)
    assert mail["To"] == "wang@example.cn" and mail["From"] == "gridwatch@example.cn"
    assert str(make_header(decode_header(mail["Subject"]))) == "【重要】高空抛物 · 7栋"
    text = mail.get_payload(decode=True).decode()  # no snapshot was uploaded: a single text part
    assert f"https://gw.example.cn/events/{event_id}" in text


def test_rules_api_validates_with_line_and_key_and_applies_live(site: Site, receivers) -> None:
    create_user(site.env.db, "root", "correct horse battery", Role.admin)
    token = site.client.post("/api/auth/login", json={"username": "root", "password": "correct horse battery"}).json()[
        "token"
    ]
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"}
    bad = "language: zh\nrules:\n  - name: fire\n    types: [fire]\n    severity: hot\n"
    r = site.client.put("/api/alerting/rules", headers=h, content=bad.encode())
    assert r.status_code == 422
    assert r.json()["detail"]["problems"][0].startswith("rules:5 rules[0].severity:")
    before = site.client.get("/api/alerting/rules", headers=h).json()["revision"]
    r = site.client.put(
        "/api/alerting/rules", headers=h, content=rules_yaml(receivers).replace('"zh"', '"en"').encode()
    )
    assert r.status_code == 200 and r.json()["revision"] == before + 1
    site.event()
    site.step(time.time())
    assert receivers["wecom"].got()[0].json()["text"]["content"].startswith("【MAJOR】Thrown object · Building 7")


def test_wecom_follows_the_text_with_the_snapshot_image(site: Site, receivers) -> None:
    event_id = site.event()
    image = jpeg()
    key = f"demo/edge-1/{event_id}/snapshot.jpg"
    site.svc.media.put_bytes(key, image, "image/jpeg")
    with site.env.db.session.begin() as s:
        s.add(Media(event_id=event_id, node="edge-1", kind="snapshot", filename="snapshot.jpg", key=key,
                    content_type="image/jpeg", sha256=hashlib.sha256(image).hexdigest(), size=len(image)))  # fmt: skip
    site.step(time.time())
    text, img = receivers["wecom"].got()
    assert text.json()["msgtype"] == "text"
    assert img.json() == {"msgtype": "image", "image": {"base64": base64.b64encode(image).decode(),
                                                        "md5": hashlib.md5(image).hexdigest()}}  # fmt: skip
    (d,) = site.deliveries()
    assert d.messages == 2  # both count against the robot's 20 per minute
    token = ack_token(text.json()["text"]["content"])
    assert site.client.get(f"/a/{token}/snapshot").content == image
    assert f'<img src="/a/{token}/snapshot"' in site.client.get(f"/a/{token}").text


def test_the_example_rules_parse_and_route_by_shift() -> None:
    text = (Path(__file__).resolve().parent.parent / "configs" / "alerting.example.yaml").read_text()
    env = {name: "x" for name in re.findall(r"\$\{(\w+)\}", text)}
    rules = parse_rules(text, "alerting.example.yaml", env)
    grid = rules.grid_of("suzhou-yiyun", "7")
    assert grid is not None and grid.id == "grid2"
    assert rules.recipients(Level.grid_worker, grid, datetime(2026, 11, 20, 23, 0)) == ["liuyang"]  # Friday night
    assert rules.recipients(Level.grid_worker, grid, datetime(2026, 11, 23, 10, 0)) == ["wangqiang"]  # Monday
    assert rules.recipients(Level.control_room, grid, datetime(2026, 11, 23, 3, 0)) == ["room-night"]
    assert rules.rule_for("smoke").severity == "critical" and rules.rule_for("smoke").group_wait_s == 0
