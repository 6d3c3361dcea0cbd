"""Shared fixtures: a real Mosquitto on a free port, sample footage, config files, and a
test "cloud" that subscribes to events and acknowledges them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cloud.auth import Role, create_user
from cloud.config import CloudConfig, S3Config
from cloud.db import Database
from cloud.registry import NodeCredentials, add_node, mosquitto_files
from edge.devbroker import DevBroker, free_port
from edge.sample import write_sample

USERS = {"cloud": "cloud-pw", "edge-1": "edge-1-pw", "edge-2": "edge-2-pw"}


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DevBroker]:
    b = DevBroker(tmp_path / "broker", USERS).start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("media") / "sample.mp4", seconds=12, fps=25, gop=25)


def site_config(tmp_path: Path, broker: DevBroker | None, source: str, **extra: object) -> Path:
    cfg: dict = {
        "site": "demo",
        "node": "edge-1",
        "broker": {
            "host": "127.0.0.1",
            "port": broker.port if broker else 1,
            "username": "edge-1",
            "password": "${EDGE_PW:-edge-1-pw}",
        },
        "cloud": {"ack_timeout_s": 3},
        "telemetry_interval_s": 1,
        "data_dir": "data",
        "cameras": [
            {
                "name": "cam1",
                "source": source,
                "building": "7",
                "loop": True,
                "facade": {
                    "corners": [[77, 38], [563, 38], [563, 480], [77, 480]],
                    "floors": [1, 12],
                    "units": ["01", "02", "03"],
                },
                "recording": {"pre_s": 2, "post_s": 1},
            }
        ],
    }
    for key, value in extra.items():
        cfg[key] = value
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


class CloudProbe:
    """Subscribes to all nodes' events as the `cloud` user; acks them when `auto_ack`."""

    def __init__(self, broker: DevBroker, auto_ack: bool = True, client_id: str = "test-cloud") -> None:
        self.events: list[dict] = []
        self.messages: list[tuple[str, bytes]] = []
        self.auto_ack = auto_ack
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.username_pw_set("cloud", USERS["cloud"])
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *a: c.subscribe("gridwatch/#", qos=1)
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError("the test cloud could not subscribe")

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload))
        if msg.topic.endswith("/event"):
            event = json.loads(msg.payload)
            with self._lock:
                self.events.append(event)
            if self.auto_ack:
                self.ack(msg.topic, event)

    def ack(self, event_topic: str, event: dict) -> None:
        ack = {"events": [{"event_id": event["event_id"], "revision": event["revision"]}]}
        self.client.publish(event_topic.rsplit("/", 1)[0] + "/ack", json.dumps(ack), qos=1)

    def command(self, name: str, node: str = "edge-1", **payload: object) -> None:
        self.client.publish(
            f"gridwatch/demo/{node}/cmd/{name}", json.dumps({"cmd_id": f"c{time.time_ns()}", **payload}), qos=1
        )

    def assert_media_kept(self, new: dict, data_dir: Path, timeout: float = 40) -> None:
        """A live event's later revision names its clip, and the node keeps clip and snapshot
        with the sizes it published."""
        with_clip = wait_for(
            lambda: [e for e in self.events if e["event_id"] == new["event_id"] and e.get("clip")],
            timeout=timeout,
            what="the event's clip",
        )[0]
        media = data_dir / "media" / new["event_id"]
        assert (media / "clip.mp4").stat().st_size == with_clip["clip"]["size"]
        assert (media / "snapshot.jpg").stat().st_size == new["snapshot"]["size"]

    def topic_messages(self, suffix: str) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.messages if t.endswith(suffix)]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def cloud(broker: DevBroker) -> Iterator[CloudProbe]:
    c = CloudProbe(broker)
    yield c
    c.close()


# --- cloud ---------------------------------------------------------------------------------
CLOUD_MQTT_PW = "cloud-mqtt-pw"


@dataclass
class CloudEnv:
    """A cloud config and database with nodes edge-1 and edge-2 registered (site demo), and a
    Mosquitto whose password file and ACL the cloud rendered from that registry."""

    tmp: Path
    cfg: CloudConfig
    db: Database
    broker: DevBroker
    nodes: dict[str, NodeCredentials]

    def node_client(self, node: str, password: str | None = None) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{node}", protocol=mqtt.MQTTv5)
        client.username_pw_set(node, password or self.nodes[node].mqtt_password)
        return client

    def reload_broker_auth(self) -> None:
        self.broker.reload_auth(mosquitto_files(self.db, {"cloud": CLOUD_MQTT_PW}, "gridwatch"))

    def write_config(self, **extra: object) -> Path:
        """The same settings as `cfg`, as a YAML file for a `gridwatch-cloud` subprocess."""
        data = {
            "data_dir": str(self.cfg.data_dir),
            "database_url": self.cfg.database_url,
            "broker": {"host": "127.0.0.1", "port": self.broker.port, "username": "cloud", "password": CLOUD_MQTT_PW},
            **extra,
        }
        path = self.tmp / "cloud.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


PG_ADMIN_DSN = os.environ.get("GRIDWATCH_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


def _start_local_postgres() -> None:
    """Start the machine's installed PostgreSQL cluster(s) if they are down (Debian's pg_ctlcluster)."""
    if shutil.which("pg_lsclusters") is None:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    for line in subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.splitlines():
        version, name, _port, status, *_ = line.split()
        if status != "online":
            subprocess.run([*sudo, "pg_ctlcluster", version, name, "start"], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[psycopg.Connection | str]:
    """A superuser connection to create test databases, or the reason there is none."""
    conn: psycopg.Connection | str
    try:
        conn = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        _start_local_postgres()
        try:
            conn = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            conn = f"PostgreSQL not reachable at {PG_ADMIN_DSN!r} ({str(exc).strip()[:120]}); set GRIDWATCH_TEST_PG"
    yield conn
    if not isinstance(conn, str):
        conn.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on a free port. moto's server speaks the S3 REST API over real
    HTTP; neither AWS nor MinIO can be had on the build machines."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_bucket(endpoint: str) -> S3Config:
    """A fresh bucket on the test server, and the config that reaches it."""
    import boto3

    cfg = S3Config(bucket=f"gw-{time.monotonic_ns()}", prefix="clips/", endpoint_url=endpoint, region="us-east-1",
                   access_key_id="test", secret_access_key="test-secret", addressing_style="path")  # fmt: skip
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test-secret").create_bucket(Bucket=cfg.bucket)  # fmt: skip
    return cfg


@pytest.fixture
def media_backend() -> str:
    """Where the cloud keeps media in a test; tests parametrize it to run on S3 as well."""
    return "local"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every cloud test runs on SQLite and, when a server is reachable, on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cloud' / 'gridwatch.sqlite'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    if isinstance(admin, str):
        pytest.skip(admin)
    name = f"gw_test_{os.getpid()}_{time.monotonic_ns()}"
    admin.execute(f'CREATE DATABASE "{name}"')
    info = admin.info
    yield f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cloud_env(tmp_path: Path, database_url: str) -> Iterator[CloudEnv]:
    broker = DevBroker(tmp_path / "broker", {})
    cfg = CloudConfig.model_validate(
        {
            "data_dir": "cloud",
            "database_url": database_url,
            "broker": {"host": "127.0.0.1", "port": broker.port, "username": "cloud", "password": CLOUD_MQTT_PW},
        }
    ).resolved(tmp_path)
    db = Database(cfg.database_url or "")
    db.migrate()
    nodes = {n: add_node(db, n, "demo") for n in ("edge-1", "edge-2")}
    broker.auth_files = mosquitto_files(db, {"cloud": CLOUD_MQTT_PW}, "gridwatch")
    broker.start()
    yield CloudEnv(tmp_path, cfg, db, broker, nodes)
    broker.stop()
    db.dispose()


class CloudProcess:
    """`gridwatch-cloud serve` as a child process, as a deployment runs it."""

    def __init__(self, env: CloudEnv, workers: int = 1, **extra: object) -> None:
        self.port = free_port()
        self.config = env.write_config(http={"port": self.port}, ingest={"workers": workers}, **extra)
        self.log = env.tmp / "cloud.log"
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> CloudProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cloud.cli", "serve", "-c", str(self.config)], stdout=log, stderr=log
            )
        wait_for(self._healthy, 30, f"cloud healthy (log {self.log})")
        return self

    def _healthy(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise AssertionError(f"cloud exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def admin_token(env: CloudEnv, url: str, username: str = "admin", role: str = "admin", **kw: object) -> str:
    """Create a user directly in the database and log in through the API."""
    create_user(env.db, username, "correct horse battery", Role(role), **kw)
    resp = httpx.post(f"{url}/api/auth/login", json={"username": username, "password": "correct horse battery"})
    resp.raise_for_status()
    return resp.json()["token"]
