"""`make demo`: the whole path on one machine with embedded defaults. A private Mosquitto
whose users and ACL come from the cloud's node registry, `gridwatch-cloud serve` (SQLite,
local disk), and `gridwatch-edge run` on sample footage the project renders itself (a facade
from which flower pots are dropped). The agent's thrown-object detector finds a drop, names
its floor and unit, and uploads the clip; the demo then opens the console's event page in
headless Chromium, checks that the clip plays, saves a screenshot and prints where to look.
`--keep` leaves everything running until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from bench.scenesim import SceneSpec, render
from cloud.auth import Role, create_user
from cloud.db import Database
from cloud.registry import add_node, mosquitto_files
from edge.devbroker import DevBroker, free_port, wait_port

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "demo"
SITE, NODE = "demo-estate", "edge-demo"
CLOUD_MQTT_PW = "demo-cloud-mqtt-pw"
ADMIN_PW = "gridwatch-demo"
DEMO_SECONDS = 30.0
THROW_EVERY_S = 10.0


def _http_port() -> int:
    try:
        wait_port(8080, timeout=0.1)
    except TimeoutError:
        return 8080  # nothing listens there: use the usual port
    return free_port()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep running until Ctrl-C")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    sample, facade = _sample_footage()
    for old in ("cloud", "broker", "data"):
        shutil.rmtree(WORK / old, ignore_errors=True)

    db = Database(f"sqlite:///{WORK / 'cloud' / 'gridwatch.sqlite'}")
    db.migrate()
    creds = add_node(db, NODE, SITE, "make demo")
    create_user(db, "admin", ADMIN_PW, Role.admin)
    broker = DevBroker(WORK / "broker", {}, auth_files=mosquitto_files(db, {"cloud": CLOUD_MQTT_PW}, "gridwatch"))
    db.dispose()
    broker.start()
    print(f"Mosquitto on 127.0.0.1:{broker.port}; users and ACL rendered from the cloud's node registry")

    port = _http_port()
    url = f"http://127.0.0.1:{port}"
    cloud_cfg = WORK / "cloud.yaml"
    cloud_cfg.write_text(yaml.safe_dump({
        "data_dir": "cloud",
        "broker": {"port": broker.port, "username": "cloud", "password": "${DEMO_CLOUD_MQTT_PW:-" + CLOUD_MQTT_PW + "}"},
        "http": {"port": port},
    }, sort_keys=False))  # fmt: skip
    site_cfg = WORK / "site.yaml"
    site_cfg.write_text(yaml.safe_dump({
        "site": SITE, "node": NODE,
        "broker": {"host": "127.0.0.1", "port": broker.port, "username": NODE, "password": "${MQTT_PASSWORD}"},
        "cloud": {"upload_url": url, "token": "${GRIDWATCH_TOKEN}"},
        "telemetry_interval_s": 5, "data_dir": "data",
        "cameras": [{
            "name": "b7-south", "source": str(sample.relative_to(WORK)), "building": "7", "loop": True,
            "facade": facade, "detectors": {"thrown": {}},
            "recording": {"pre_s": 4, "post_s": 2},
        }],
    }, sort_keys=False))  # fmt: skip

    procs: list[subprocess.Popen] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-watcher", protocol=mqtt.MQTTv5)
    try:
        print(f"starting the cloud: gridwatch-cloud serve -c {cloud_cfg.relative_to(ROOT)}  ({url})")
        procs.append(subprocess.Popen([sys.executable, "-m", "cloud.cli", "serve", "-c", str(cloud_cfg)],
                                      stdout=(WORK / "cloud.log").open("wb"), stderr=subprocess.STDOUT))  # fmt: skip
        _wait_healthy(url, procs[0])
        token = httpx.post(f"{url}/api/auth/login", json={"username": "admin", "password": ADMIN_PW}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}

        watcher.username_pw_set("cloud", CLOUD_MQTT_PW)
        watcher.on_connect = lambda c, *a: c.subscribe(f"gridwatch/{SITE}/{NODE}/#", qos=0)
        watcher.on_message = _show
        watcher.connect("127.0.0.1", broker.port)
        watcher.loop_start()

        print(f"starting the agent: gridwatch-edge run {site_cfg.relative_to(ROOT)}")
        env = {**os.environ, "MQTT_PASSWORD": creds.mqtt_password, "GRIDWATCH_TOKEN": creds.upload_token}
        procs.append(subprocess.Popen([sys.executable, "-m", "edge.cli", "run", str(site_cfg)], env=env))
        print(f"waiting for the detector to see a throw (the footage drops a pot every {THROW_EVERY_S} s)")
        event = _wait_for_clip(url, auth, 90)
        if event is None:
            print(f"demo FAILED: no thrown-object event with a stored clip within 90 s (see {WORK / 'cloud.log'})",
                  file=sys.stderr)  # fmt: skip
            return 1
        origin = event["event"]["thrown"]["origin"]
        clip = next(m for m in event["media"] if m["kind"] == "clip")
        print(f"\nthe cloud stored event {event['event_id']}: thrown object from building {event['building']}, "
              f"floor {origin['floor']}, unit {origin['unit']} (camera {event['camera']}, confidence "
              f"{event['confidence']:.2f}); clip {clip['size']} bytes, sha256 {clip['sha256'][:16]}…")  # fmt: skip
        page = f"{url}/events/{event['event_id']}"
        shot = WORK / "console.png"
        played = _show_in_console(url, page, shot)
        print(f"the console plays its clip ({played:.1f} s in): screenshot {shot.relative_to(ROOT)}")
        print(f"\n  console    {page}  (log in: admin / {ADMIN_PW})")
        print(f"  alarms     {url}/alarms")
        print(f"  API docs   {url}/api/docs")
        if args.keep:
            print("\nrunning; Ctrl-C stops everything")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        else:
            print("\n(`.venv/bin/python -m cloud.demo --keep` leaves it running)")
        return 0
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        watcher.loop_stop()
        broker.stop()


def _wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the cloud exited ({proc.returncode}); see {WORK / 'cloud.log'}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the cloud did not become healthy; see {WORK / 'cloud.log'}")


def _sample_footage() -> tuple[Path, dict]:
    """The bundled sample: rendered once by the scene simulator, then reused."""
    out = WORK / "footage"
    video, calib = out / "facade.mp4", out / "facade.yaml"
    if not (video.exists() and calib.exists()):
        print(f"rendering sample footage {video.relative_to(ROOT)} (simulated facade, 1280x720, 25 fps, "
              f"flower pots dropped from balconies)")  # fmt: skip
        spec = SceneSpec(seed=21, seconds=DEMO_SECONDS, throws=int(DEMO_SECONDS // THROW_EVERY_S),
                         objects=("flower_pot", "brick", "bottle"), styles=("drop",), width=1280, height=720)  # fmt: skip
        render(spec, out, "facade")
    return video, yaml.safe_load(calib.read_text())["cameras"][0]["facade"]


def _show_in_console(url: str, page_url: str, shot: Path) -> float:
    """Log in, open the event page in headless Chromium, wait until the clip has played past
    the release with the trajectory drawn, save a screenshot; return the clip's currentTime."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="zh-CN")
            page.goto(f"{url}/login?next=" + page_url.removeprefix(url))
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", ADMIN_PW)
            page.click("button[type=submit]")
            page.wait_for_function("document.querySelector('video#clip')?.currentTime > 1.0", timeout=30_000)
            # past the pre-roll: the object is falling and its path is drawn over the video
            page.wait_for_function("Number(document.querySelector('canvas.overlay')?.dataset.drawnPoints) > 12",
                                   timeout=30_000)  # fmt: skip
            page.screenshot(path=str(shot))
            return float(page.evaluate("document.querySelector('video#clip').currentTime"))
        finally:
            browser.close()


def _wait_for_clip(url: str, auth: dict[str, str], timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in httpx.get(f"{url}/api/events", headers=auth, params={"type": "thrown_object"}).json()["items"]:
            if item["clip_url"]:
                return httpx.get(f"{url}/api/events/{item['event_id']}", headers=auth).json()
        time.sleep(0.5)
    return None


def _show(client, userdata, msg) -> None:
    leaf = msg.topic.rsplit("/", 1)[-1]
    body = json.loads(msg.payload) if msg.payload else {}
    if leaf == "event":
        media = [m for m in ("snapshot", "clip") if body.get(m)]
        print(f"  <- event {body['event_id']} r{body['revision']} {body['phase']} type={body['type']} media={media}")
    elif leaf == "ack":
        print(f"  <- ack from the cloud: {[(a['event_id'][-6:], a['revision']) for a in body['events']]}")
    elif leaf == "status":
        print(f"  <- status {body.get('state')} {body.get('problems') or ''}")
    elif leaf == "reply":
        print(f"  <- reply {body.get('message')}")


if __name__ == "__main__":
    sys.exit(main())
