"""The node's MQTT connection: status with a delayed last will, events from the outbox,
acks that empty it, and commands from the cloud.

paho-mqtt 2 with MQTT 5 and a persistent session (clean_start False), so acks and
commands sent while the node was away are delivered when it returns. Events go out at
QoS 1 only from the outbox, in order; the broker's own retransmission is a bonus, the
outbox is the guarantee.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from contract import Ack, Command, CommandReply, Status, Topics
from contract.models import utcnow
from edge import __version__
from edge.config import BrokerConfig
from edge.outbox import Outbox

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
MAX_PAYLOAD = 256 * 1024
PUBLISH_BATCH = 200

CommandHandler = Callable[[str, Command], CommandReply]


def make_client(cfg: BrokerConfig, client_id: str) -> mqtt.Client:
    """A paho client with credentials and TLS from the config (shared with tools and tests)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password.get_secret_value() if cfg.password else None)
    if cfg.tls:
        client.tls_set(
            ca_certs=str(cfg.tls.ca) if cfg.tls.ca else None,
            certfile=str(cfg.tls.cert) if cfg.tls.cert else None,
            keyfile=str(cfg.tls.key) if cfg.tls.key else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        client.tls_insecure_set(cfg.tls.insecure)
    client.reconnect_delay_set(1, 30)
    return client


class MqttLink:
    def __init__(
        self,
        cfg: BrokerConfig,
        topics: Topics,
        outbox: Outbox,
        ack_timeout_s: float,
        on_command: CommandHandler,
    ) -> None:
        self.cfg = cfg
        self.topics = topics
        self.outbox = outbox
        self.ack_timeout_s = ack_timeout_s
        self.on_command = on_command
        self.connected = threading.Event()
        self.last_error: str | None = None
        self.problems: Callable[[], list[str]] = list
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._publish_loop, name="mqtt-outbox", daemon=True)
        self.client = make_client(cfg, client_id=f"{topics.site}.{topics.node}")
        will_props = Properties(PacketTypes.WILLMESSAGE)
        will_props.WillDelayInterval = cfg.will_delay_s
        offline = Status(state="offline", version=__version__).model_dump_json()
        self.client.will_set(topics.status, offline, qos=1, retain=True, properties=will_props)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.message_callback_add(topics.ack, self._on_ack)
        self.client.message_callback_add(topics.cmd(), self._on_cmd)

    # lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(
            self.cfg.host, self.cfg.port, self.cfg.keepalive_s, clean_start=False, properties=props
        )
        self.client.loop_start()
        self._thread.start()

    def stop(self) -> None:
        """Say offline ourselves (no will delay on a clean shutdown) and disconnect."""
        self._stop.set()
        self._wake.set()
        if self.connected.is_set():
            offline = Status(state="offline", at=utcnow(), version=__version__).model_dump_json()
            self.client.publish(self.topics.status, offline, qos=1, retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
        self._thread.join(timeout=5)

    def wake(self) -> None:
        """Something was added to the outbox: publish it now."""
        self._wake.set()

    # callbacks ---------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            log.error("MQTT %s:%s %s", self.cfg.host, self.cfg.port, self.last_error)
            return
        self.last_error = None
        log.info("MQTT connected to %s:%s (session present: %s)", self.cfg.host, self.cfg.port, flags.session_present)
        client.subscribe([(self.topics.ack, 1), (self.topics.cmd(), 1)])
        self.publish_status()
        self.outbox.unsend_all()
        self.connected.set()
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            self.last_error = f"disconnected: {reason_code}"
            log.warning("MQTT %s:%s %s; retrying", self.cfg.host, self.cfg.port, self.last_error)

    def _on_ack(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            ack = Ack.model_validate_json(msg.payload)
        except ValidationError as exc:
            log.warning("ignoring malformed ack on %s: %s", msg.topic, exc.errors()[0]["msg"])
            return
        removed = self.outbox.ack([(a.event_id, a.revision) for a in ack.events])
        log.debug("ack of %d revisions removed %d", len(ack.events), removed)

    def _on_cmd(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        name = msg.topic.rsplit("/", 1)[-1]
        if len(msg.payload) > MAX_PAYLOAD:
            log.warning("ignoring oversized command on %s (%d bytes)", msg.topic, len(msg.payload))
            return
        try:
            cmd = Command.model_validate_json(msg.payload)
        except ValidationError as exc:
            log.warning("ignoring malformed command on %s: %s", msg.topic, exc.errors()[0]["msg"])
            return
        # Commands may take a while (a snapshot, a reload): keep the network thread free.
        threading.Thread(target=self._run_command, args=(name, cmd), daemon=True).start()

    def _run_command(self, name: str, cmd: Command) -> None:
        try:
            reply = self.on_command(name, cmd)
        except Exception as exc:  # a failed command is reported, never fatal
            log.exception("command %s failed", name)
            reply = CommandReply(cmd_id=cmd.cmd_id, ok=False, message=f"{type(exc).__name__}: {exc}")
        self.client.publish(self.topics.reply, reply.model_dump_json(), qos=1)

    # publishing --------------------------------------------------------------
    def publish_status(self) -> None:
        status = Status(state="online", at=utcnow(), version=__version__, problems=self.problems())
        self.client.publish(self.topics.status, status.model_dump_json(), qos=1, retain=True)

    def publish_telemetry(self, payload: str) -> None:
        """Telemetry is at most once: sent when connected, skipped otherwise (events never are)."""
        if self.connected.is_set():
            self.client.publish(self.topics.telemetry, payload, qos=0)

    def _publish_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if not self.connected.is_set():
                continue
            batch = self.outbox.due(self.ack_timeout_s, limit=PUBLISH_BATCH)
            for item in batch:
                if not self.connected.is_set() or self._stop.is_set():
                    break
                info = self.client.publish(self.topics.event, item.payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break
                self.outbox.mark_sent(item.seq)
            else:
                if len(batch) == PUBLISH_BATCH:  # a backlog after an outage: keep draining
                    self._wake.set()
