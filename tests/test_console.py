"""The web console in a real browser (Debian's Chromium, headless, driven by Playwright) against
`gridwatch-cloud serve`, a real Mosquitto and a real edge agent:

- log in through the form; the control room's live feed shows a thrown-object alarm published
  over MQTT without a reload, and a fire alarm sounds;
- the event page plays the uploaded clip (currentTime advances), draws the trajectory in step
  with it and lights the origin floor and unit on the facade;
- acknowledge, assign and resolve (with a note and a photo) from the event page, and one-tap
  acknowledge from the grid worker's phone page;
- the installer asks the agent for a snapshot over the cmd topic, drags a facade corner and
  exports YAML that the edge's own config model accepts.

Set GRIDWATCH_SCREENSHOTS=docs/screenshots to write the README's screenshots from this run
(`make screenshots`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import yaml
from conftest import CloudEnv, CloudProcess, admin_token, site_config, wait_for
from sqlalchemy import select

from cloud.db import AuditEntry
from contract import Event, EventType, FacadeCalibration, MediaRef, Origin, RegionDetails, ThrownDetails, new_event_id
from edge.agent import Agent
from edge.config import CameraConfig, load_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency: make venv")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is missing: make system-deps")
SHOTS = os.environ.get("GRIDWATCH_SCREENSHOTS")
PASSWORD = "correct horse battery"
FACADE = FacadeCalibration(
    corners=[(77, 38), (563, 38), (563, 480), (77, 480)], floors=(1, 12), units=["01", "02", "03"]
)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """The console runs on SQLite here: the API underneath is tested on both databases elsewhere."""
    yield f"sqlite:///{tmp_path / 'cloud' / 'gridwatch.sqlite'}"


@pytest.fixture
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        yield b
        b.close()


def thrown_event(clip: bytes, started: datetime) -> Event:
    """A drop from floor 12, unit 02 of building 7, as the edge describes it (image px of a 640x480 camera)."""
    trajectory = [(k * 0.1, 300.0, 80.0 + 0.5 * 9.8 * (k * 0.1) ** 2 * 40) for k in range(12)]
    return Event(
        event_id=new_event_id(), type=EventType.thrown_object, site="demo", node="edge-2", camera="south",
        building="7", started_at=started, ended_at=started + timedelta(seconds=1.2), confidence=0.91,
        thrown=ThrownDetails(origin=Origin(x=300, y=80, floor=12, unit="02"), trajectory=trajectory,
                             fall_floors=6.5, facade=FACADE),
        clip=MediaRef(kind="clip", filename="clip.mp4", content_type="video/mp4", sha256=hashlib.sha256(clip).hexdigest(),
                      size=len(clip), start_at=started - timedelta(seconds=1), pre_s=1.0, upload="pending"),
    )  # fmt: skip


def fire_event() -> Event:
    return Event(
        event_id=new_event_id(), type=EventType.fire, site="demo", node="edge-2", camera="south", building="7",
        started_at=datetime.now(UTC), confidence=0.8, region=RegionDetails(bbox=(200, 100, 320, 220), label="fire"),
    )  # fmt: skip


def shot(page: sync_api.Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def test_console_in_a_browser(cloud_env: CloudEnv, sample_mp4: Path, tmp_path: Path, browser, monkeypatch) -> None:
    monkeypatch.setattr("edge.uploader.RETRY_START_S", 0.3)
    rules_file = tmp_path / "alerting.yaml"
    cloud = CloudProcess(cloud_env, alerting={"rules_file": str(rules_file), "tick_s": 0.1})
    rules = {
        "console_url": cloud.url,
        "people": {"zhang": {"name": "张伟", "user": "worker"}, "wang": {"name": "王强"}},
        "grids": [{"id": "g7", "name": "七栋网格", "buildings": ["demo/7"], "workers": [{"person": "zhang"}]}],
    }
    rules_file.write_text(json.dumps(rules, ensure_ascii=False))
    cloud.start()
    admin_token(cloud_env, cloud.url)
    admin_token(cloud_env, cloud.url, "worker", "grid_worker", grids=["demo/7"])

    # the real agent (edge-1) answers the installer's snapshot command
    creds = cloud_env.nodes["edge-1"]
    cfg_path = site_config(tmp_path, cloud_env.broker, str(sample_mp4))
    raw = yaml.safe_load(cfg_path.read_text())
    raw["broker"]["password"] = creds.mqtt_password
    raw["cloud"].update(upload_url=cloud.url, token=creds.upload_token)
    cfg_path.write_text(yaml.safe_dump(raw))
    agent = Agent(load_config(cfg_path))
    agent.start()
    node = cloud_env.node_client("edge-2")
    node.connect("127.0.0.1", cloud_env.broker.port)
    node.loop_start()
    desk = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = desk.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # --- log in ------------------------------------------------------------------------
        page.goto(f"{cloud.url}/alarms")
        page.wait_for_url("**/login?next=%2Falarms")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "wrong password!")
        page.click("button[type=submit]")
        sync_api.expect(page.locator("form.login .error")).to_have_text("用户名或密码错误")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{cloud.url}/alarms")
        page.wait_for_selector("body[data-ready='1']")
        sync_api.expect(page.locator("ol.alarms")).to_contain_text("当前没有未处理告警")

        # --- the live feed receives an event published over MQTT -----------------------------
        clip = sample_mp4.read_bytes()
        event = thrown_event(clip, datetime.now(UTC) - timedelta(seconds=2))
        node.publish("gridwatch/demo/edge-2/event", event.model_dump_json(), qos=1).wait_for_publish(5)
        card = page.locator("li.alarm").first
        sync_api.expect(card).to_contain_text("高空抛物", timeout=10_000)
        sync_api.expect(card).to_contain_text("7栋 12层 02户")
        sync_api.expect(page.locator("table.events tbody tr").first).to_contain_text("高空抛物")
        up = httpx.put(f"{cloud.url}/api/uploads/{event.event_id}/clip.mp4", content=clip,
                       headers={"Authorization": f"Bearer {cloud_env.nodes['edge-2'].upload_token}"})  # fmt: skip
        assert up.status_code in (200, 201), up.text
        node.publish("gridwatch/demo/edge-2/event", fire_event().model_dump_json(), qos=1).wait_for_publish(5)
        sync_api.expect(page.locator("li.alarm.sev-critical")).to_contain_text("明火", timeout=10_000)
        page.wait_for_function(
            "document.body.dataset.alarmSounds === '1'"
        )  # the critical one sounds, the major one not
        shot(page, "control-room")

        # --- the event page: clip playing with the trajectory in step, the facade ----------------
        card = page.locator("li.alarm", has_text="高空抛物")
        card.get_by_role("link", name="详情").click()
        page.wait_for_url(f"**/events/{event.event_id}")
        video = page.locator("video#clip")
        sync_api.expect(video).to_be_visible()
        page.wait_for_function("document.querySelector('video#clip').currentTime > 1.5", timeout=15_000)
        drawn = int(page.locator("canvas.overlay").get_attribute("data-drawn-points") or 0)
        assert drawn > 0, "the trajectory is drawn once playback passes the release"
        page.evaluate("document.querySelector('video#clip').currentTime = 0.2")
        page.wait_for_function("document.querySelector('canvas.overlay').dataset.drawnPoints === '0'")
        origin = page.locator(".facade-svg rect.origin")
        assert (origin.get_attribute("data-floor"), origin.get_attribute("data-unit")) == ("12", "02")
        sync_api.expect(page.locator(".origin-text")).to_contain_text("7栋 12层 02户")
        sync_api.expect(page.locator("dl.facts").first).to_contain_text(hashlib.sha256(clip).hexdigest())

        # --- acknowledge, assign, resolve with a note and a photo -----------------------------------
        panel = page.locator(".alarm-panel")
        panel.get_by_role("button", name="确认接警").click()
        sync_api.expect(panel).to_have_attribute("data-state", "acknowledged")
        panel.locator("select[name=person]").select_option("wang")
        panel.get_by_role("button", name="指派").click()
        sync_api.expect(panel.locator("ol.trail")).to_contain_text("指派")
        sync_api.expect(panel).to_contain_text("指派给王强")
        page.evaluate("document.querySelector('video#clip').play()")
        page.wait_for_timeout(1500)
        shot(page, "event")
        panel.get_by_role("button", name="处理完毕").click()
        panel.locator("textarea[name=note]").fill("已上门核实，12层02户住户承认扔花盆，已教育")
        photo = tmp_path / "scene.png"
        cv2.imwrite(str(photo), np.full((60, 80, 3), 128, np.uint8))
        panel.locator("input[name=photo]").set_input_files(str(photo))
        panel.get_by_role("button", name="提交").click()
        sync_api.expect(panel).to_have_attribute("data-state", "resolved")
        sync_api.expect(panel.locator("img.photo")).to_be_visible()
        sync_api.expect(panel.locator("ol.trail")).to_contain_text("处理完毕")

        # --- the grid worker's phone: one-tap acknowledge -------------------------------------------
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
        )
        mobile = phone.new_page()
        mobile.on("pageerror", lambda exc: errors.append(str(exc)))
        mobile.goto(f"{cloud.url}/")
        mobile.fill("input[name=username]", "worker")
        mobile.fill("input[name=password]", PASSWORD)
        mobile.click("button[type=submit]")
        mobile.wait_for_url(f"{cloud.url}/m")
        fire_card = mobile.locator("article.mobile-alarm", has_text="明火")
        sync_api.expect(fire_card).to_contain_text("前往 7栋")
        shot(mobile, "phone")
        fire_card.get_by_role("button", name="确认接警").click()
        sync_api.expect(fire_card).to_have_attribute("data-state", "acknowledged")
        phone.close()

        # --- the installer: snapshot over the cmd topic, drag a corner, export YAML --------------------
        agent.publish_telemetry()  # the cloud learns the camera
        page.goto(f"{cloud.url}/install")
        page.wait_for_selector("body[data-ready='1']")
        page.get_by_role("button", name="获取当前画面").click()
        sync_api.expect(page.locator("p[role=status]")).to_contain_text("画面时间", timeout=30_000)
        with cloud_env.db.session() as s:
            requested = s.scalars(select(AuditEntry.action).where(AuditEntry.target == "camera:edge-1/cam1")).all()
        assert requested == ["camera.snapshot_requested"]
        canvas = page.locator("canvas.calib")
        assert (canvas.evaluate("c => [c.width, c.height]")) == [640, 480], "the canvas takes the snapshot's size"
        page.fill("input[name=source]", "rtsp://192.168.1.64:554/Streaming/Channels/101")
        page.fill("input[name=top]", "12")
        page.fill("input[name=building]", "7")
        box = canvas.bounding_box()
        scale = box["width"] / 640
        start = json.loads(canvas.get_attribute("data-corners"))[0]
        page.mouse.move(box["x"] + start[0] * scale, box["y"] + start[1] * scale)
        page.mouse.down()
        page.mouse.move(box["x"] + 60 * scale, box["y"] + 30 * scale, steps=8)
        page.mouse.up()
        page.keyboard.press("ArrowRight")  # the selected corner moves one pixel by keyboard
        sync_api.expect(page.locator(".problems")).to_have_attribute("data-valid", "true")
        corners = json.loads(canvas.get_attribute("data-corners"))
        assert abs(corners[0][0] - 61) <= 2 and abs(corners[0][1] - 30) <= 2, corners
        sync_api.expect(page.locator("textarea.yaml")).to_have_value(
            re.compile(rf"- \[{corners[0][0]}, {corners[0][1]}\]")
        )
        shot(page, "installer")
        with page.expect_download() as dl:
            page.get_by_role("button", name="导出 YAML").click()
        exported = yaml.safe_load(Path(dl.value.path()).read_text())
        cam = CameraConfig.model_validate(exported[0])
        assert cam.name == "cam1" and cam.building == "7" and cam.facade is not None
        assert [list(p) for p in cam.facade.corners] == corners and cam.facade.floors == (1, 12)

        # a broken draft says what is wrong and where
        page.fill("input[name=top]", "0")
        sync_api.expect(page.locator(".problems")).to_contain_text("facade")
        sync_api.expect(page.locator(".problems")).to_have_attribute("data-valid", "false")

        # --- health board and heatmap ------------------------------------------------------------
        page.goto(f"{cloud.url}/board")
        page.wait_for_selector("body[data-ready='1']")
        sync_api.expect(page.locator("article.node[data-node='edge-1']")).to_contain_text("在线")
        sync_api.expect(page.locator("figure.chart")).to_have_count(3)
        shot(page, "board")
        for floor, unit in [(12, "02"), (11, "02"), (12, "03"), (9, "01"), (12, "02"), (16, "03")]:
            more = thrown_event(clip, datetime.now(UTC)).model_copy(update={"clip": None})
            more.thrown.origin = Origin(x=300, y=80, floor=floor, unit=unit)
            node.publish("gridwatch/demo/edge-2/event", more.model_dump_json(), qos=1).wait_for_publish(5)
        auth = {"Authorization": f"Bearer {admin_token(cloud_env, cloud.url, 'stats', 'operator')}"}
        stored = lambda: httpx.get(f"{cloud.url}/api/events", params={"type": "thrown_object"}, headers=auth).json()  # noqa: E731
        wait_for(lambda: len(stored()["items"]) == 7, 10, "the origins stored")
        page.goto(f"{cloud.url}/heatmap")
        page.wait_for_selector("body[data-ready='1']")
        hot = page.locator("td.heat[data-floor='12'][data-unit='02']")
        sync_api.expect(hot).to_have_attribute("data-count", "3")
        sync_api.expect(page.locator("table.heatmap caption")).to_contain_text("共 7 起")
        shot(page, "heatmap")

        # --- English on request --------------------------------------------------------------------
        page.goto(f"{cloud.url}/alarms")
        page.get_by_role("button", name="English").click()
        page.wait_for_selector("body[data-ready='1']")
        sync_api.expect(page.locator("#top nav")).to_contain_text("Alarms")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert not errors, errors
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot of the failure: {tmp_path / 'failure.png'}; page errors: {errors}")
        raise
    finally:
        desk.close()
        node.loop_stop()
        agent.stop()
        cloud.stop()
