"""Events survive a broker outage and a SIGKILL; the broker refuses strangers; TLS works."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml
from conftest import USERS, CloudProbe, site_config, wait_for
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import Agent
from edge.config import load_config
from edge.devbroker import DevBroker


def outbox_rows(cfg_path: Path) -> list[tuple[str, int]]:
    db = cfg_path.parent / "data" / "outbox.sqlite"
    with sqlite3.connect(db) as con:
        return con.execute("SELECT event_id, revision FROM outbox ORDER BY seq").fetchall()


def test_event_raised_while_broker_is_down_arrives_after_it_returns(tmp_path, broker, cloud, sample_mp4) -> None:
    agent = Agent(load_config(site_config(tmp_path, broker, str(sample_mp4))))
    agent.start()
    try:
        wait_for(agent.link.connected.is_set, what="agent connected")
        cam = agent.cameras["cam1"]
        wait_for(lambda: cam.stats.online and cam._template is not None, what="camera online")
        broker.stop()
        wait_for(lambda: not agent.link.connected.is_set(), what="agent noticing the broker is gone")
        event_id = cam.raise_test_event("raised while the broker was down")
        wait_for(lambda: agent.outbox.pending() >= 1, what="event in the outbox")
        broker.restart()
        got = wait_for(
            lambda: [e for e in cloud.events if e["event_id"] == event_id], timeout=40, what="event delivered"
        )
        assert got[0]["type"] == "test" and got[0]["note"] == "raised while the broker was down"
        # the clip revision follows, and everything is acked away
        wait_for(lambda: any(e.get("clip") for e in cloud.events if e["event_id"] == event_id), what="clip revision")
        wait_for(lambda: agent.outbox.pending() == 0, what="outbox empty after acks")
    finally:
        agent.stop()


def _run_agent(cfg: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "run", str(cfg)], stderr=subprocess.DEVNULL)


def test_sigkill_before_ack_loses_nothing_and_redelivers_the_same_id(tmp_path, broker, sample_mp4) -> None:
    cloud = CloudProbe(broker, auto_ack=False, client_id="silent-cloud")
    cfg = site_config(tmp_path, broker, str(sample_mp4))
    agent = _run_agent(cfg)
    try:
        wait_for(lambda: cloud.topic_messages("/status"), what="agent online")
        wait_for(
            lambda: any(json.loads(m)["cameras"][0]["online"] for m in cloud.topic_messages("/telemetry")),
            what="camera online",
        )
        cloud.command("test_event", note="drill before the kill")
        first = wait_for(lambda: [e for e in cloud.events if e["type"] == "test"], what="event published")[0]
        event_id = first["event_id"]
        # not acked: published again after ack_timeout_s (3 s), with the same id and revision
        wait_for(
            lambda: sum(1 for e in cloud.events if (e["event_id"], e["revision"]) == (event_id, 0)) >= 2,
            what="redelivery",
        )
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        assert (event_id, 0) in outbox_rows(cfg), "the unacked event must still be in the outbox"
        seen = len(cloud.events)
        cloud.auto_ack = True
        agent = _run_agent(cfg)
        wait_for(
            lambda: any(e["event_id"] == event_id for e in cloud.events[seen:]),
            timeout=30,
            what="redelivery after restart",
        )
        for e in [e for e in cloud.events if e["event_id"] == event_id]:
            cloud.ack("gridwatch/demo/edge-1/event", e)
        wait_for(lambda: not outbox_rows(cfg), timeout=30, what="outbox emptied by acks")
        assert {e["event_id"] for e in cloud.events if e["type"] == "test"} == {event_id}
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(20)
        cloud.close()


def _connect_rc(port: int, username: str | None, password: str | None, **tls) -> mqtt.ReasonCode:
    result: dict = {}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{os.getpid()}", protocol=mqtt.MQTTv5)
    if username:
        client.username_pw_set(username, password)
    if tls:
        client.tls_set(ca_certs=str(tls["ca"]))
    client.on_connect = lambda c, u, f, rc, p: result.setdefault("rc", rc)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        wait_for(lambda: "rc" in result, timeout=10, what="CONNACK")
    finally:
        client.loop_stop()
        client.disconnect()
    return result["rc"]


def test_anonymous_and_wrong_password_are_refused(broker) -> None:
    assert _connect_rc(broker.port, None, None).is_failure
    assert _connect_rc(broker.port, "edge-1", "wrong").is_failure
    assert not _connect_rc(broker.port, "edge-1", USERS["edge-1"]).is_failure


def test_a_node_cannot_write_another_nodes_topics(broker, cloud) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="edge-1-probe", protocol=mqtt.MQTTv5)
    client.username_pw_set("edge-1", USERS["edge-1"])
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    client.publish("gridwatch/demo/edge-2/event", b'{"forged": true}', qos=1).wait_for_publish(5)
    client.publish("gridwatch/demo/edge-1/telemetry", b'{"own": true}', qos=1).wait_for_publish(5)
    wait_for(lambda: cloud.topic_messages("edge-1/telemetry"), what="own topic delivered")
    assert not cloud.topic_messages("edge-2/event")
    client.loop_stop()
    client.disconnect()


def test_agent_connects_over_tls(tmp_path, sample_mp4) -> None:
    b = DevBroker(tmp_path / "broker", USERS, tls=True).start()
    try:
        cloud = CloudProbe(b)
        cfg_path = site_config(tmp_path, b, str(sample_mp4))
        raw = yaml.safe_load(cfg_path.read_text())
        raw["broker"].update(port=b.tls_port, tls={"ca": str(b.tls_files["ca"])})
        cfg_path.write_text(yaml.safe_dump(raw))
        assert _connect_rc(b.tls_port, "cloud", USERS["cloud"], ca=b.tls_files["ca"]).value == 0
        agent = Agent(load_config(cfg_path))
        agent.start()
        try:
            wait_for(agent.link.connected.is_set, what="TLS connection")
            wait_for(lambda: cloud.topic_messages("edge-1/status"), what="status over TLS")
        finally:
            agent.stop()
            cloud.close()
    finally:
        b.stop()


def test_missing_source_is_offline_not_a_crash_and_others_keep_running(tmp_path, broker, cloud, sample_mp4) -> None:
    cfg_path = site_config(tmp_path, broker, str(sample_mp4))
    raw = yaml.safe_load(cfg_path.read_text())
    raw["cameras"].append({"name": "ghost", "source": "no-such-file.mp4", "building": "7"})
    cfg_path.write_text(yaml.safe_dump(raw))
    agent = Agent(load_config(cfg_path))
    agent.start()
    try:
        wait_for(lambda: agent.cameras["cam1"].stats.frames_in > 10, what="cam1 running")
        wait_for(lambda: agent.cameras["ghost"].stats.error, what="ghost reported")
        assert "no-such-file.mp4" in agent.cameras["ghost"].stats.error
        agent.publish_telemetry()
        tele = json.loads(wait_for(lambda: cloud.topic_messages("/telemetry"), what="telemetry")[-1])
        states = {c["name"]: c["online"] for c in tele["cameras"]}
        assert states == {"cam1": True, "ghost": False}
        assert any("ghost" in p for p in agent.problems())
    finally:
        agent.stop()


def test_malformed_commands_are_ignored(tmp_path, broker, cloud, sample_mp4) -> None:
    agent = Agent(load_config(site_config(tmp_path, broker, str(sample_mp4))))
    agent.start()
    try:
        wait_for(lambda: agent.cameras["cam1"].stats.frames_processed > 0, what="first frame analysed")
        cloud.client.publish("gridwatch/demo/edge-1/cmd/test_event", b"{not json", qos=1)
        cloud.client.publish("gridwatch/demo/edge-1/cmd/test_event", b'{"cmd_id": ""}', qos=1)
        cloud.command("self_destruct")
        cloud.command("snapshot", camera="cam1")
        replies = wait_for(
            lambda: len(cloud.topic_messages("/reply")) >= 2 and cloud.topic_messages("/reply"), what="replies"
        )
        by_ok = sorted((json.loads(r)["ok"], json.loads(r)["message"]) for r in replies)
        assert by_ok[0][0] is False and "unknown command" in by_ok[0][1]
        assert by_ok[1][0] is True and "snapshot" in by_ok[1][1]
        assert agent.link.connected.is_set()
    finally:
        agent.stop()


def test_full_disk_keeps_events_in_memory_and_says_so(tmp_path, broker, sample_mp4) -> None:
    """An outbox that cannot be written holds the event in memory and reports disk_full."""
    agent = Agent(load_config(site_config(tmp_path, broker, str(sample_mp4))))
    try:
        real_put = agent.outbox.put

        def full(*a, **k):
            raise sqlite3.OperationalError("database or disk is full")

        agent.outbox.put = full  # the only stand-in: a real full disk cannot be made safely here
        from contract import Event, EventType, new_event_id
        from contract.models import utcnow

        event = Event(
            event_id=new_event_id(), type=EventType.test, site="demo", node="edge-1", started_at=utcnow(), confidence=1
        )
        agent.store.publish(event)
        assert agent.store.disk_full
        assert any("disk_full" in p for p in agent.problems())
        agent.outbox.put = real_put
        agent.store.retry()
        assert not agent.store.disk_full
        assert agent.outbox.pending() == 1
    finally:
        agent.outbox.close()
