"""MQTT topic names: `{prefix}/{site}/{node}/{leaf}`.

Frigate users know the shape: a retained availability topic with a last will, an event
topic, and command topics under `cmd/`. The ack topic is ours: it is how the cloud tells
a node that an event is durably stored, so the node may forget it.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "gridwatch"


@dataclass(frozen=True)
class Topics:
    """Topic names of one node. `site` and `node` may be `+` to build subscriptions."""

    site: str
    node: str
    prefix: str = DEFAULT_PREFIX

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.site}/{self.node}"

    @property
    def status(self) -> str:
        """Retained `online`/`offline` status; `offline` is also the last will."""
        return f"{self.base}/status"

    @property
    def telemetry(self) -> str:
        return f"{self.base}/telemetry"

    @property
    def event(self) -> str:
        """Events, QoS 1, each publication a revision of one event_id."""
        return f"{self.base}/event"

    @property
    def ack(self) -> str:
        """Cloud to node: an event revision is stored; the node may drop it from its outbox."""
        return f"{self.base}/ack"

    def cmd(self, name: str = "#") -> str:
        """Cloud to node commands: `snapshot`, `reload`, `test_event`."""
        return f"{self.base}/cmd/{name}"

    @property
    def reply(self) -> str:
        """Node to cloud: the outcome of a command, carrying its cmd_id."""
        return f"{self.base}/reply"

    @staticmethod
    def parse(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str, str]:
        """Split a topic into (site, node, leaf); raise ValueError if it is not ours."""
        parts = topic.split("/")
        pre = prefix.split("/")
        if len(parts) < len(pre) + 3 or parts[: len(pre)] != pre:
            raise ValueError(f"topic {topic!r} is not under prefix {prefix!r}")
        rest = parts[len(pre) :]
        return rest[0], rest[1], "/".join(rest[2:])
