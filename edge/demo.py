"""`make demo`: a private Mosquitto, the agent on bundled sample footage, and a subscriber
that shows the events arriving. Fires a `test` event through the whole path (snapshot,
exact pre-roll clip, outbox, MQTT, ack) and prints what the subscriber received."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from edge.devbroker import DevBroker
from edge.sample import write_sample

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "demo"
USERS = {"cloud": "demo-cloud-pw", "edge-demo": "demo-edge-pw"}


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    sample = WORK / "sample-facade.mp4"
    if not sample.exists():
        print(f"making sample footage {sample.relative_to(ROOT)} (synthetic facade, 1280x720, 25 fps)")
        write_sample(sample, seconds=20, width=1280, height=720, gop=50)
    broker = DevBroker(WORK / "broker", USERS).start()
    print(f"Mosquitto listening on 127.0.0.1:{broker.port} (config from configs/mosquitto/)")
    config = WORK / "site.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "site": "demo-estate",
                "node": "edge-demo",
                "broker": {
                    "host": "127.0.0.1",
                    "port": broker.port,
                    "username": "edge-demo",
                    "password": "${DEMO_EDGE_PW:-demo-edge-pw}",
                },
                "telemetry_interval_s": 5,
                "data_dir": "data",
                "cameras": [
                    {
                        "name": "b7-south",
                        "source": sample.name,
                        "building": "7",
                        "loop": True,
                        "facade": {
                            "corners": [[154, 58], [1126, 58], [1126, 720], [154, 720]],
                            "floors": [1, 12],
                            "units": ["01", "02", "03"],
                        },
                        "recording": {"pre_s": 5, "post_s": 3},
                    }
                ],
            },
            sort_keys=False,
        )
    )
    received: list[dict] = []

    def on_message(client, userdata, msg) -> None:
        leaf = msg.topic.rsplit("/", 1)[-1]
        body = json.loads(msg.payload)
        if leaf == "event":
            received.append(body)
            media = [m for m in ("snapshot", "clip") if body.get(m)]
            print(
                f"  <- event {body['event_id']} r{body['revision']} {body['phase']} type={body['type']} camera={body['camera']} media={media}"
            )
            ack = {"event_id": body["event_id"], "revision": body["revision"]}
            client.publish(msg.topic.rsplit("/", 1)[0] + "/ack", json.dumps(ack), qos=1)
        elif leaf == "status":
            print(f"  <- status {body['state']} {body.get('problems') or ''}")
        elif leaf == "reply":
            print(f"  <- reply {body['message']}")

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-subscriber", protocol=mqtt.MQTTv5)
    sub.username_pw_set("cloud", USERS["cloud"])
    sub.on_message = on_message
    sub.on_connect = lambda c, *a: c.subscribe("gridwatch/#", qos=1)
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    print("starting the agent: gridwatch-edge run var/demo/site.yaml")
    agent = subprocess.Popen([sys.executable, "-m", "edge.cli", "run", str(config)])
    try:
        time.sleep(8)  # let the ring fill with pre-roll
        print("  -> cmd/test_event")
        sub.publish(
            "gridwatch/demo-estate/edge-demo/cmd/test_event",
            json.dumps({"cmd_id": "demo-1", "note": "make demo"}),
            qos=1,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(e.get("clip") for e in received):
            time.sleep(0.2)
        clip_events = [e for e in received if e.get("clip")]
        if not clip_events:
            print("demo FAILED: no event with a clip arrived within 30 s", file=sys.stderr)
            return 1
        clip = clip_events[-1]["clip"]
        path = WORK / "data" / "media" / clip_events[-1]["event_id"] / "clip.mp4"
        print(f"\nevent arrived with its evidence clip: {path.relative_to(ROOT)}")
        print(
            f"  {clip['size']} bytes, sha256 {clip['sha256']}, pre-roll {clip['pre_s']} s, post-roll {clip['post_s']} s"
        )
        return 0
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(20)
        time.sleep(0.5)
        sub.loop_stop()
        broker.stop()


if __name__ == "__main__":
    sys.exit(main())
