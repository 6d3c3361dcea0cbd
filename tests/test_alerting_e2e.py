"""End to end, as deployed: an edge node publishes a thrown-object event over MQTT to a real
Mosquitto; `gridwatch-cloud serve` stores it and tells the grid worker's WeCom group within 2 s;
the cloud is killed in the middle of the escalation wait and restarted; the grid leader is still
told on time; the worker acknowledges and resolves through the signed link; the audit trail
shows every step."""

from __future__ import annotations

import json
import re
from datetime import datetime

import httpx
from conftest import CloudEnv, CloudProcess, admin_token, wait_for
from receivers import Receiver
from test_api import make_event

ESCALATE_S = 6


def test_event_to_wecom_escalation_across_a_restart_ack_and_resolve_by_link(cloud_env: CloudEnv) -> None:
    wecom, dingtalk = Receiver(), Receiver()
    rules_file = cloud_env.tmp / "alerting.yaml"
    cloud = CloudProcess(cloud_env, alerting={"rules_file": str(rules_file), "tick_s": 0.1})
    rules = {
        "console_url": cloud.url,
        "channels": {
            "grid7": {"type": "wecom", "key": "K", "url": f"{wecom.url}/cgi-bin/webhook/send"},
            "leaders": {"type": "dingtalk", "access_token": "T", "secret": "SECx", "url": f"{dingtalk.url}/robot/send"},
        },
        "people": {
            "zhang": {"name": "张伟", "mobile": "13800000001", "channels": ["grid7"]},
            "li": {"name": "李娜", "mobile": "13800000002", "channels": ["leaders"]},
        },
        "grids": [{"id": "g1", "buildings": ["demo/7"], "workers": [{"person": "zhang"}], "leader": "li"}],
        "rules": [{"name": "thrown", "types": ["thrown_object"], "severity": "major", "escalate_after_s": ESCALATE_S,
                   "repeat": 0}],
    }  # fmt: skip
    rules_file.write_text(json.dumps(rules, ensure_ascii=False))
    cloud.start()
    node = cloud_env.node_client("edge-1")
    try:
        node.connect("127.0.0.1", cloud_env.broker.port)
        node.loop_start()
        event = make_event(clip=None)
        node.publish("gridwatch/demo/edge-1/event", event.model_dump_json(), qos=1)

        (msg,) = wait_for(wecom.got, 10, "the WeCom message")
        token = admin_token(cloud_env, cloud.url)
        h = {"Authorization": f"Bearer {token}"}
        stored = httpx.get(f"{cloud.url}/api/events/{event.event_id}", headers=h).json()
        arrived = datetime.fromisoformat(stored["received_at"]).timestamp()
        assert msg.at - arrived < 2.0, f"{msg.at - arrived:.2f} s from arrival to the WeCom message"
        content = msg.json()["text"]["content"]
        assert "7栋 12层 02户位" in content and msg.json()["text"]["mentioned_mobile_list"] == ["13800000001"]

        cloud.kill()  # a crash in the middle of the escalation wait
        assert not dingtalk.got()
        cloud.start()
        (esc,) = wait_for(dingtalk.got, ESCALATE_S + 10, "the escalation to the grid leader")
        assert esc.at - arrived >= ESCALATE_S - 0.5
        assert "升级至网格长" in esc.json()["markdown"]["text"]

        link = re.search(r"确认接警：(\S+)$", content).group(1)
        assert link.startswith(f"{cloud.url}/a/")
        r = httpx.post(f"{link}/ack")
        assert r.status_code == 303
        resolve_page = f"{cloud.url}{r.headers['location']}"
        r = httpx.post(f"{resolve_page}/resolve", data={"outcome": "handled", "note": "已上门核实，住户承认"})
        assert r.status_code == 200, r.text

        (alarm,) = httpx.get(f"{cloud.url}/api/alarms", headers=h).json()
        detail = httpx.get(f"{cloud.url}/api/alarms/{alarm['id']}", headers=h).json()
        assert (detail["state"], detail["acked_by"], detail["outcome"]) == ("resolved", "zhang", "handled")
        actions = [(a["actor"], a["action"]) for a in detail["audit"]]
        assert actions == [
            ("system", "alarm.triggered"), ("system", "alarm.notify"), ("system", "alarm.notified"),
            ("system", "alarm.escalated"), ("link:zhang", "alarm.acknowledged"), ("link:zhang", "alarm.resolved"),
        ]  # fmt: skip
        assert len(dingtalk.got()) in (1, 2)  # the escalation, and the closing notice once it is sent
    finally:
        node.loop_stop()
        node.disconnect()
        cloud.stop()
        wecom.close()
        dingtalk.close()
