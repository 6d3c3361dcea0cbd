"""What the messages say, in Chinese by default or English: what, where (building, floor, unit,
camera), when, confidence, and links to the event page and the acknowledgement page. Never a
clip URL: chat histories live for years and the event page authenticates before it plays.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cloud.alerting.channels import Message
from cloud.alerting.rules import Severity
from cloud.db import Alarm

TEXT = {
    "zh": {
        "types": {"thrown_object": "高空抛物", "smoke": "烟雾", "fire": "明火", "camera_offline": "摄像头离线",
                  "camera_tamper": "摄像头被遮挡或移动", "test": "测试告警"},
        "severity": {Severity.critical: "紧急", Severity.major: "重要", Severity.minor: "一般", Severity.info: "提示"},
        "levels": {"grid_worker": "网格员", "grid_leader": "网格长", "control_room": "监控室", "property_manager": "物业经理"},
        "building": "{}栋", "floor": "{}层", "unit": "{}户位", "camera": "摄像头 {}",
        "where": "地点", "origin": "疑似抛出位置", "when": "时间", "confidence": "置信度", "count": "重复检测 {} 次",
        "escalation": "升级至{level}：{minutes} 分钟无人确认", "reminder": "提醒：{who} 已确认 {minutes} 分钟，尚未处理完毕",
        "assigned": "监控室指派{who}前往处置",
        "resolved": {"handled": "已处理", "false_alarm": "误报"}, "by": "处理人", "note": "说明",
        "links": ("查看事件", "确认接警"), "digest": "另有 {} 条告警", "grid": "网格",
    },
    "en": {
        "types": {"thrown_object": "Thrown object", "smoke": "Smoke", "fire": "Fire", "camera_offline": "Camera offline",
                  "camera_tamper": "Camera covered or moved", "test": "Test alarm"},
        "severity": {Severity.critical: "CRITICAL", Severity.major: "MAJOR", Severity.minor: "minor", Severity.info: "info"},
        "levels": {"grid_worker": "grid worker", "grid_leader": "grid leader", "control_room": "control room",
                   "property_manager": "property manager"},
        "building": "Building {}", "floor": "floor {}", "unit": "unit {}", "camera": "camera {}",
        "where": "Where", "origin": "Thrown from", "when": "When", "confidence": "Confidence", "count": "detected {} times",
        "escalation": "Escalated to {level}: unacknowledged for {minutes} min",
        "reminder": "Reminder: acknowledged by {who} {minutes} min ago, not resolved yet",
        "assigned": "The control room sends {who} to handle it",
        "resolved": {"handled": "Handled", "false_alarm": "False alarm"}, "by": "By", "note": "Note",
        "links": ("Event", "Acknowledge"), "digest": "{} more alarms", "grid": "Grid",
    },
}  # fmt: skip


class Renderer:
    def __init__(self, language: str, console_url: str, tz: str) -> None:
        self.t = TEXT[language]
        self.sep = "：" if language == "zh" else ": "
        self.console_url = console_url.rstrip("/")
        self.tz = ZoneInfo(tz)

    def event_url(self, alarm: Alarm) -> str:
        return f"{self.console_url}/events/{alarm.first_event_id}"

    def ack_url(self, token: str) -> str:
        return f"{self.console_url}/a/{token}"

    def local(self, t: float) -> str:
        return datetime.fromtimestamp(t, self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def what(self, alarm: Alarm) -> str:
        return self.t["types"].get(alarm.type, alarm.type)

    def where(self, alarm: Alarm) -> str:
        t = self.t
        parts = [t["building"].format(alarm.building)] if alarm.building else []
        if alarm.floor is not None:
            parts.append(t["floor"].format(alarm.floor))
        if alarm.unit:
            parts.append(t["unit"].format(alarm.unit))
        place = " ".join(parts)
        cam = t["camera"].format(alarm.camera) if alarm.camera else alarm.node
        return f"{place} ({cam})" if place else cam

    def title(self, alarm: Alarm) -> str:
        sev = self.t["severity"][Severity(alarm.severity)]
        place = self.t["building"].format(alarm.building) if alarm.building else alarm.site
        return f"【{sev}】{self.what(alarm)} · {place}"

    def alarm(self, alarm: Alarm, kind: str, extra: dict) -> Message:
        """The message of one delivery: `kind` alarm, escalation, reminder, assigned or resolved."""
        t = self.t
        label = t["origin"] if alarm.type == "thrown_object" and alarm.floor is not None else t["where"]
        lines = []
        if kind == "escalation":
            lines.append(t["escalation"].format(level=t["levels"][extra["level"]], minutes=extra["minutes"]))
        elif kind == "reminder":
            lines.append(t["reminder"].format(who=extra["who"], minutes=extra["minutes"]))
        elif kind == "assigned":
            lines.append(t["assigned"].format(who=extra["who"]))
        elif kind == "resolved":
            lines.append(f"{t['resolved'][alarm.outcome or 'handled']} · {t['by']}{self.sep}{extra['who']}")
            if alarm.note:
                lines.append(f"{t['note']}{self.sep}{alarm.note[:300]}")
        lines += [f"{label}{self.sep}{self.where(alarm)}", f"{t['when']}{self.sep}{self.local(alarm.started_at)}"]
        lines.append(f"{t['confidence']}{self.sep}{alarm.confidence:.0%}")
        if alarm.event_count > 1:
            lines.append(t["count"].format(alarm.event_count))
        if extra.get("grid"):
            lines.append(f"{t['grid']}{self.sep}{extra['grid']}")
        return Message(
            title=self.title(alarm),
            lines=lines,
            event_url=self.event_url(alarm),
            ack_url=extra.get("ack_url"),
            link_labels=t["links"],
            sep=self.sep,
            sms_params={
                "what": self.what(alarm),
                "where": self.where(alarm)[:35],
                "when": self.local(alarm.started_at),
            },
            data={"kind": kind, "alarm": alarm_json(alarm)},
        )

    def digest(self, alarms: list[Alarm]) -> Message:
        """Several alarms in one message: the overflow of a rate limit, or a grouped minor kind."""
        lines = [f"{self.title(a)} · {self.where(a)} · {self.local(a.started_at)}" for a in alarms]
        return Message(
            title=self.t["digest"].format(len(alarms)),
            lines=lines,
            event_url=f"{self.console_url}/alarms",
            link_labels=self.t["links"],
            sms_params={
                "what": self.t["digest"].format(len(alarms)),
                "where": "-",
                "when": self.local(alarms[0].opened_at),
            },
            data={"kind": "digest", "alarms": [alarm_json(a) for a in alarms]},
        )


def alarm_json(a: Alarm) -> dict:
    return {
        "id": a.id, "type": a.type, "severity": Severity(a.severity).name, "state": a.state, "site": a.site,
        "node": a.node, "camera": a.camera, "building": a.building, "floor": a.floor, "unit": a.unit,
        "grid": a.grid, "event_id": a.first_event_id, "event_count": a.event_count, "confidence": a.confidence,
        "opened_at": a.opened_at,
    }  # fmt: skip
