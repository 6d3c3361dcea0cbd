"""The HTTP API on a real uvicorn server: authentication, roles and grids, uploads checked
against the event, Range requests, the live stream, statistics, metrics, retention, and
schemathesis fuzzing for 5xx."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import schemathesis
import uvicorn
import yaml
from conftest import CloudEnv, s3_bucket, wait_for
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select

from cloud.api import create_app
from cloud.auth import Role, create_user, login
from cloud.db import AuditEntry, EventRow, Media
from cloud.fleet import make_telemetry
from cloud.ingest import Incoming
from cloud.media import S3MediaStore, open_media_store
from cloud.service import CloudService
from contract import Event, EventType, MediaRef, Origin, Phase, ThrownDetails, new_event_id
from edge.config import CameraConfig
from edge.devbroker import free_port

PASSWORD = "correct horse battery"
CLIP = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40


class Api:
    def __init__(self, env: CloudEnv, svc: CloudService, url: str) -> None:
        self.env, self.svc, self.url = env, svc, url
        self.tokens: dict[str, str] = {}

    def login(self, username: str, role: Role, grids: list[str] | None = None) -> dict[str, str]:
        create_user(self.env.db, username, PASSWORD, role, grids)
        r = httpx.post(f"{self.url}/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def get(self, path: str, headers: dict | None = None, **params) -> httpx.Response:
        return httpx.get(self.url + path, headers=headers, params=params)

    def ingest(self, event: Event) -> None:
        topic = f"gridwatch/{event.site}/{event.node}/event"
        result = self.svc.ingestor.store([Incoming(topic, event.model_dump_json().encode())])
        assert result.stored_events == 1

    def node_put(self, path: str, body: bytes, node: str = "edge-1", **headers: str) -> httpx.Response:
        token = self.env.nodes[node].upload_token
        return httpx.put(self.url + path, content=body, headers={"Authorization": f"Bearer {token}", **headers})


def make_event(building: str = "7", floor: int | None = 12, clip: bytes | None = CLIP, **kw) -> Event:
    fields = dict(event_id=new_event_id(), type=EventType.thrown_object, site="demo", node="edge-1", camera="cam1",
                  building=building, started_at=datetime.now(UTC), confidence=0.9,
                  thrown=ThrownDetails(origin=Origin(x=10, y=20, floor=floor, unit="02")))  # fmt: skip
    if clip is not None:
        fields["clip"] = MediaRef(kind="clip", filename="clip.mp4", content_type="video/mp4",
                                  sha256=hashlib.sha256(clip).hexdigest(), size=len(clip))  # fmt: skip
    fields.update(kw)
    return Event.model_validate(fields)


@pytest.fixture
def api(cloud_env: CloudEnv, media_backend: str, request: pytest.FixtureRequest) -> Iterator[Api]:
    cfg = cloud_env.cfg.model_copy(deep=True)
    cfg.ingest.workers = 0
    cfg.media.max_upload_mb = 0.05
    if media_backend == "s3":
        cfg.media.backend = "s3"
        cfg.media.s3 = s3_bucket(request.getfixturevalue("s3_endpoint"))
    svc = CloudService(cfg)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(svc), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: server.started, 10, "uvicorn")
    yield Api(cloud_env, svc, url)
    server.should_exit = True
    thread.join(10)
    svc.stop()


def test_nothing_but_health_without_login(api: Api) -> None:
    assert api.get("/api/health").status_code == 200
    for path in ("/api/events", "/api/nodes", "/api/stats", "/metrics", "/api/users", "/api/media/1",
                 "/api/telemetry?measurement=node_health&field=cpu_percent"):  # fmt: skip
        assert api.get(path).status_code == 401, path
    bad = httpx.post(f"{api.url}/api/auth/login", json={"username": "nobody", "password": "x" * 12})
    assert bad.status_code == 401 and "wrong user name or password" in bad.text
    assert api.get("/api/events", {"Authorization": "Bearer forged"}).status_code == 401


def test_roles_grids_paging_stats_and_audit(api: Api) -> None:
    admin = api.login("admin", Role.admin)
    worker = api.login("li.wei", Role.grid_worker, ["demo/7"])
    installer = api.login("installer", Role.installer)
    mine = [make_event("7", floor=f) for f in (3, 12, 12)]
    theirs = make_event("9")
    for e in [*mine, theirs]:
        api.ingest(e)
    assert {e["building"] for e in api.get("/api/events", admin).json()["items"]} == {"7", "9"}
    seen = api.get("/api/events", worker).json()["items"]
    assert sorted(e["event_id"] for e in seen) == sorted(e.event_id for e in mine)
    assert api.get(f"/api/events/{theirs.event_id}", worker).status_code == 404
    assert api.get(f"/api/events/{mine[0].event_id}", worker).json()["event"]["thrown"]["origin"]["floor"] == 3
    # keyset paging walks everything once, newest first
    page1 = api.get("/api/events", admin, limit=3).json()
    page2 = api.get("/api/events", admin, limit=3, cursor=page1["next_cursor"]).json()
    assert len(page1["items"]) == 3 and len(page2["items"]) == 1 and page2["next_cursor"] is None
    assert api.get("/api/events", admin, cursor="garbage").status_code == 400
    floors = api.get("/api/stats", worker, group_by="floor").json()["counts"]
    assert floors == [{"key": "3", "count": 1}, {"key": "12", "count": 2}]
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert api.get("/api/stats", admin, group_by="day").json()["counts"] == [{"key": today, "count": 4}]
    # roles
    assert httpx.post(f"{api.url}/api/users", headers=worker, json={"username": "x", "password": PASSWORD,
                      "role": "admin"}).status_code == 403  # fmt: skip
    r = httpx.put(f"{api.url}/api/events/{mine[0].event_id}/evidence", headers=worker, json={"evidence": True})
    assert r.status_code == 403
    r = httpx.put(f"{api.url}/api/events/{mine[0].event_id}/evidence", headers=admin,
                  json={"evidence": True, "reason": "police request 2026-118"})  # fmt: skip
    assert r.status_code == 200 and r.json()["evidence"] is True
    r = httpx.post(f"{api.url}/api/nodes", headers=installer, json={"id": "edge-9", "site": "demo"})
    assert r.status_code == 201 and r.json()["upload_token"]
    with api.env.db.session() as s:
        actions = {(a.actor, a.action) for a in s.scalars(select(AuditEntry))}
    assert {("admin", "event.evidence"), ("installer", "node.add"), ("cli", "user.create")} <= actions
    audit = api.get("/api/audit", admin).json()
    assert any(a["action"] == "event.evidence" and a["detail"]["reason"] == "police request 2026-118" for a in audit)


@pytest.mark.parametrize("media_backend", ["local", "s3"])
def test_uploads_are_checked_against_the_event(api: Api) -> None:
    e = make_event()
    path = f"/api/uploads/{e.event_id}/clip.mp4"
    assert api.node_put(path, CLIP).status_code == 409, "event not stored yet: retry later"
    api.ingest(e)
    assert httpx.put(api.url + path, content=CLIP, headers={"Authorization": "Bearer nope"}).status_code == 401
    tampered = api.node_put(path, CLIP[:-1] + b"X")
    assert tampered.status_code == 422 and "does not match the event" in tampered.text
    assert api.node_put(path, CLIP, node="edge-2").status_code == 409, "another node's event"
    for bad in ("..%2F..%2Fetc%2Fpasswd", ".hidden", "a%00b"):
        r = api.node_put(f"/api/uploads/{e.event_id}/{bad}", CLIP)
        assert 400 <= r.status_code < 500, (bad, r.status_code)
    big = api.node_put(f"/api/uploads/{e.event_id}/clip.mp4", b"x" * 60_000)
    assert big.status_code == 413
    ok = api.node_put(path, CLIP)
    assert ok.status_code == 200 and ok.json()["detail"] == "stored"
    assert api.node_put(path, CLIP).json()["detail"] == "already stored"
    with api.env.db.session() as s:
        refused = [a for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "upload.refused"))]
        media = s.scalars(select(Media)).all()
    assert refused and refused[0].actor == "node:edge-1" and len(media) == 1
    assert not list(api.svc.media.staging.iterdir()), "refused bodies are not left behind"
    # Range: good, suffix, unsatisfiable, malformed
    admin = api.login("admin", Role.admin)
    url = f"/api/media/{media[0].id}"
    whole = httpx.get(api.url + url, headers=admin)
    assert whole.status_code == 200 and whole.content == CLIP and whole.headers["content-type"] == "video/mp4"
    head = httpx.get(api.url + url, headers={**admin, "Range": "bytes=0-9"})
    assert head.status_code == 206 and head.content == CLIP[:10]
    assert head.headers["content-range"] == f"bytes 0-9/{len(CLIP)}"
    tail = httpx.get(api.url + url, headers={**admin, "Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == CLIP[-16:]
    assert httpx.get(api.url + url, headers={**admin, "Range": f"bytes={len(CLIP) + 10}-"}).status_code == 416
    assert 400 <= httpx.get(api.url + url, headers={**admin, "Range": "bytes=abc"}).status_code < 500
    snap = b"\xff\xd8jpeg"
    r = api.node_put(
        "/api/uploads/snapshots/cam1/c123.jpg", snap, **{"X-Content-SHA256": hashlib.sha256(snap).hexdigest()}
    )
    assert r.status_code == 200
    r = api.node_put("/api/uploads/snapshots/cam1/c124.jpg", snap, **{"X-Content-SHA256": "0" * 64})
    assert r.status_code == 422


def test_s3_objects_carry_their_hash_and_an_outage_records_nothing(cloud_env: CloudEnv, s3_endpoint: str) -> None:
    """On S3 each clip is an object with its SHA-256 as metadata under the configured prefix. When
    the store is away an upload answers 503 with Retry-After and nothing is recorded, so the
    node keeps its file and the retry succeeds once the store is back."""
    cfg = cloud_env.cfg.model_copy(deep=True)
    cfg.ingest.workers = 0
    cfg.media.backend, cfg.media.s3 = "s3", s3_bucket(s3_endpoint)
    reachable = cfg.media.s3.endpoint_url
    cfg.media.s3.endpoint_url, cfg.media.s3.timeout_s = f"http://127.0.0.1:{free_port()}", 1
    svc = CloudService(cfg)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(svc), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for(lambda: server.started, 10, "uvicorn")
    api = Api(cloud_env, svc, f"http://127.0.0.1:{port}")
    try:
        e = make_event()
        api.ingest(e)
        path = f"/api/uploads/{e.event_id}/clip.mp4"
        r = api.node_put(path, CLIP)
        assert r.status_code == 503 and r.headers["retry-after"] == "30" and "media store unavailable" in r.text
        with cloud_env.db.session() as s:
            assert s.scalars(select(Media)).all() == []
        assert not list(svc.media.staging.iterdir())
        cfg.media.s3.endpoint_url = reachable  # the store is back
        svc.media = open_media_store(cfg.media, cfg.data_dir)
        assert api.node_put(path, CLIP).json()["detail"] == "stored"
        assert isinstance(svc.media, S3MediaStore)
        head = svc.media.client.head_object(Bucket=cfg.media.s3.bucket, Key=f"clips/demo/edge-1/{e.event_id}/clip.mp4")
        assert head["Metadata"]["sha256"] == hashlib.sha256(CLIP).hexdigest()
        assert head["ContentType"] == "video/mp4" and head["ContentLength"] == len(CLIP)
    finally:
        server.should_exit = True
        svc.stop()


def test_live_stream_pushes_new_events_and_alarms(api: Api) -> None:
    headers = api.login("operator", Role.operator)
    got: list[tuple[str, dict]] = []

    def listen() -> None:
        kind = ""
        with httpx.stream("GET", f"{api.url}/api/events-stream", headers=headers, timeout=10) as r:
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                if line.startswith("data: "):
                    got.append((kind, json.loads(line[6:])))
                    if kind == "alarm":
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    time.sleep(0.5)
    e = make_event()
    api.ingest(e)
    api.svc.alerts.step()  # the default rules: a thrown object is a major alarm
    t.join(10)
    (kind, first), (kind2, alarm) = got[0], got[-1]
    assert kind == "event" and first["event_id"] == e.event_id and first["floor"] == 12
    assert kind2 == "alarm" and alarm["event_id"] == e.event_id and alarm["severity"] == "major"


def test_metrics_nodes_and_telemetry(api: Api) -> None:
    admin = api.login("admin", Role.admin)
    api.svc.ingestor.store([Incoming("gridwatch/demo/edge-1/event", b"{broken")])
    text = api.get("/metrics", admin).text
    assert 'gridwatch_ingest_messages_total{kind="event",outcome="refused"} 1.0' in text
    assert "gridwatch_http_requests_total" in text
    nodes = api.get("/api/nodes", admin).json()
    assert {n["id"] for n in nodes} == {"edge-1", "edge-2"} and not any(n["online"] for n in nodes)
    dead = api.get("/api/dead-letters", admin).json()
    assert dead[0]["reason"].startswith("not JSON") and dead[0]["payload_preview"] == "{broken"


@pytest.mark.parametrize("media_backend", ["local", "s3"])
def test_retention_spares_open_and_evidence_events(api: Api, tmp_path: Path) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    ended = make_event(phase=Phase.end, started_at=old, ended_at=old)
    still_open = make_event(started_at=old)
    kept = make_event(phase=Phase.end, started_at=old, ended_at=old)
    recent = make_event(phase=Phase.end)
    for e in (ended, still_open, kept, recent):
        api.ingest(e)
        assert api.node_put(f"/api/uploads/{e.event_id}/clip.mp4", CLIP).status_code == 200
    with api.env.db.session.begin() as s:
        s.get(EventRow, kept.event_id).evidence = True
    assert api.svc.sweep_media() == 1
    assert api.svc.metrics.registry.get_sample_value("gridwatch_media_deleted_total") == 1
    with api.env.db.session() as s:
        gone = {m.event_id for m in s.scalars(select(Media).where(Media.deleted_at.is_not(None)))}
        left = s.scalars(select(Media).where(Media.deleted_at.is_(None))).all()
    assert gone == {ended.event_id}
    assert all(api.svc.media.exists(m.key) for m in left) and len(left) == 3


def test_fuzzing_finds_no_server_errors(cloud_env: CloudEnv) -> None:
    """Schemathesis generates requests from the OpenAPI document, valid and not, for every
    operation; none may get a 5xx. (Its pytest plugin does not load under this pytest, so
    the operations are driven through Hypothesis directly.)"""
    cfg = cloud_env.cfg.model_copy(deep=True)
    cfg.ingest.workers = 0
    svc = CloudService(cfg)
    create_user(svc.db, "fuzz", PASSWORD, Role.admin)
    token, _ = login(svc.db, "fuzz", PASSWORD, 1)
    headers = {"Authorization": f"Bearer {token}"}
    api_schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(svc))
    failures: list[str] = []
    operations = 0
    try:
        for result in api_schema.get_all_operations():
            op = result.ok()
            if op.path == "/api/events-stream":
                continue  # endless by design; test_live_stream_pushes_new_events_and_alarms covers it
            operations += 1

            @given(case=op.as_strategy())
            @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                    )

            run()
    finally:
        svc.stop()
    assert operations >= 15
    assert not failures, "\n".join(failures[:10])


def test_stats_by_floor_and_unit_and_the_installer_camera_check(api: Api) -> None:
    for floor, unit in [(12, "02"), (12, "02"), (3, "01")]:
        e = make_event(floor=floor)
        e.thrown.origin.unit = unit
        api.ingest(e)
    fitter, boss = api.login("fitter", Role.installer), api.login("boss", Role.operator)
    counts = api.get("/api/stats", boss, group_by="floor_unit").json()["counts"]
    assert sorted((c["key"], c["count"]) for c in counts) == [("12/02", 2), ("3/01", 1)]

    def check(draft: dict, who: dict = fitter) -> httpx.Response:
        return httpx.post(f"{api.url}/api/config/camera", headers=who, json=draft)

    draft = {"name": "south", "source": "rtsp://10.0.0.5/1", "building": "7",
             "facade": {"corners": [[100, 50], [500, 60], [510, 470], [90, 460]], "floors": [1, 12], "units": ["01", "02"]}}  # fmt: skip
    r = check(draft).json()
    assert r["valid"] and len(r["grid"]) == 13 + 3 and "- [100, 50]" in r["yaml"]
    assert CameraConfig.model_validate(yaml.safe_load(r["yaml"])[0]).facade.floors == (1, 12)
    line = {**draft, "facade": {**draft["facade"], "corners": [[100, 50], [500, 50], [300, 50], [90, 460]]}}
    r = check(line).json()
    assert not r["valid"] and r["problems"][0]["path"] == "facade" and "convex" in r["problems"][0]["message"]
    assert check({**draft, "building": ""}).json()["problems"] == [
        {"path": "building", "message": "String should have at least 1 character"}
    ]
    assert check(draft, boss).status_code == 403
    # the snapshot command: an unknown camera is 404; with no broker connection the cloud says so
    assert httpx.post(f"{api.url}/api/nodes/edge-1/cameras/nope/snapshot", headers=fitter).status_code == 404
    telemetry = make_telemetry("demo", "edge-1", 1).model_dump_json().encode()
    api.svc.ingestor.store([Incoming("gridwatch/demo/edge-1/telemetry", telemetry)])
    r = httpx.post(f"{api.url}/api/nodes/edge-1/cameras/cam0/snapshot", headers=fitter)
    assert r.status_code == 503 and "not connected to the broker" in r.text
    r = api.get("/api/nodes/edge-1/cameras/cam0/snapshot", fitter)
    assert r.status_code == 404 and "no snapshot" in r.text
