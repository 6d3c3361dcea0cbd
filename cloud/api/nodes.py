"""Nodes and their cameras with health; registering and revoking nodes (admin, installer)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from cloud.api.deps import require, service, user
from cloud.api.visibility import visible
from cloud.audit import audit
from cloud.auth import Principal, Role
from cloud.db import Camera, Media, Node, from_epoch
from cloud.media import MediaStore
from cloud.registry import RegistryError, add_node, revoke_node
from cloud.service import CloudService
from contract import Command

router = APIRouter(prefix="/api/nodes", tags=["nodes"])


class CameraOut(BaseModel):
    name: str
    building: str | None
    online: bool
    health: dict | None
    updated_at: datetime


class NodeOut(BaseModel):
    id: str
    site: str
    description: str
    online: bool = Field(description="Said `online` last and was heard from within `node_offline_after_s`.")
    state: str | None
    last_seen_at: datetime | None
    version: str | None
    problems: list[str]
    health: dict | None
    revoked: bool
    cameras: list[CameraOut]


class NewNode(BaseModel):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    site: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    description: str = Field("", max_length=200)


class NodeSecrets(BaseModel):
    id: str
    site: str
    mqtt_username: str
    mqtt_password: str = Field(description="Shown once. Put it in the node's config as `${MQTT_PASSWORD}`.")
    upload_token: str = Field(description="Shown once. The node's `cloud.token`.")
    note: str


def node_out(n: Node, cams: list[Camera], offline_after_s: float, now: float) -> NodeOut:
    fresh = n.last_seen_at is not None and now - n.last_seen_at <= offline_after_s
    online = n.revoked_at is None and n.state == "online" and fresh
    return NodeOut(
        id=n.id, site=n.site, description=n.description, online=online, state=n.state,
        last_seen_at=from_epoch(n.last_seen_at), version=n.version, problems=n.problems or [], health=n.health,
        revoked=n.revoked_at is not None,
        cameras=[CameraOut(name=c.name, building=c.building, online=bool(c.online) and online, health=c.health,
                           updated_at=from_epoch(c.updated_at)) for c in cams],
    )  # fmt: skip


@router.get("", response_model=list[NodeOut])
def list_nodes(p: Principal = Depends(user), svc: CloudService = Depends(service)) -> list[NodeOut]:
    now = time.time()
    with svc.db.session() as s:
        cams: dict[str, list[Camera]] = {}
        for c in s.scalars(select(Camera).where(visible(p, Camera.site, Camera.building)).order_by(Camera.name)):
            cams.setdefault(c.node, []).append(c)
        nodes = list(s.scalars(select(Node).order_by(Node.site, Node.id)))
    return [
        node_out(n, cams.get(n.id, []), svc.cfg.node_offline_after_s, now)
        for n in nodes
        if p.sees_all() or n.id in cams
    ]


@router.post("", response_model=NodeSecrets, status_code=201)
def register_node(
    body: NewNode, p: Principal = Depends(require(Role.admin, Role.installer)), svc: CloudService = Depends(service)
) -> NodeSecrets:
    try:
        creds = add_node(svc.db, body.id, body.site, body.description, actor=p.name)
    except RegistryError as exc:
        raise HTTPException(409, str(exc)) from None
    return NodeSecrets(id=creds.node_id, site=creds.site, mqtt_username=creds.node_id,
                       mqtt_password=creds.mqtt_password, upload_token=creds.upload_token,
                       note="Run `gridwatch-cloud mosquitto-config` (or your deployment's equivalent) so the broker knows the node.")  # fmt: skip


@router.delete("/{node_id}", status_code=204)
def revoke(node_id: str, p: Principal = Depends(require(Role.admin)), svc: CloudService = Depends(service)) -> None:
    try:
        revoke_node(svc.db, node_id, actor=p.name)
    except RegistryError as exc:
        raise HTTPException(404, str(exc)) from None


class SnapshotRequest(BaseModel):
    cmd_id: str = Field(description="The snapshot arrives as `/api/nodes/{node}/cameras/{camera}/snapshot?cmd_id=`.")


class SnapshotOut(BaseModel):
    url: str
    cmd_id: str | None
    stored_at: datetime


INSTALLERS = (Role.admin, Role.installer)


def _camera_of(svc: CloudService, node_id: str, camera: str) -> tuple[Node, Camera]:
    with svc.db.session() as s:
        n, cam = s.get(Node, node_id), s.get(Camera, (node_id, camera))
    if n is None or cam is None or n.revoked_at is not None:
        raise HTTPException(404, f"no camera {camera!r} on node {node_id!r}")
    return n, cam


@router.post("/{node_id}/cameras/{camera}/snapshot", response_model=SnapshotRequest, status_code=202)
def request_snapshot(
    node_id: str, camera: str, p: Principal = Depends(require(*INSTALLERS)), svc: CloudService = Depends(service)
) -> SnapshotRequest:
    """Ask the node (over its cmd topic) for a current frame; it uploads the JPEG a moment later."""
    n, _ = _camera_of(svc, node_id, camera)
    cmd = Command(cmd_id=f"snap-{uuid.uuid4().hex[:12]}", camera=camera, note=f"requested by {p.name}")
    try:
        svc.send_command(n.site, n.id, "snapshot", cmd)
    except ConnectionError as exc:
        raise HTTPException(503, str(exc)) from None
    with svc.db.session.begin() as s:
        audit(s, p.name, "camera.snapshot_requested", f"camera:{n.id}/{camera}", cmd_id=cmd.cmd_id)
    return SnapshotRequest(cmd_id=cmd.cmd_id)


@router.get("/{node_id}/cameras/{camera}/snapshot", response_model=SnapshotOut)
def latest_snapshot(
    node_id: str,
    camera: str,
    cmd_id: str | None = Query(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Wait for this request's."),
    p: Principal = Depends(require(*INSTALLERS)),
    svc: CloudService = Depends(service),
) -> SnapshotOut:
    """The newest snapshot the camera's node uploaded on command (404 until there is one)."""
    n, _ = _camera_of(svc, node_id, camera)
    # the keys the upload endpoint stores command snapshots under: site/node/snapshots/camera/<cmd_id>.jpg
    folder = MediaStore.key(n.site, n.id, "snapshots", camera)
    q = select(Media).where(Media.kind == "snapshot", Media.deleted_at.is_(None))
    if cmd_id:
        q = q.where(Media.key == MediaStore.key(n.site, n.id, "snapshots", camera, f"{cmd_id}.jpg"))
    else:
        q = q.where(Media.key.startswith(f"{folder}/", autoescape=True))
    with svc.db.session() as s:
        m = s.scalar(q.order_by(Media.stored_at.desc()).limit(1))
    if m is None:
        raise HTTPException(404, f"no snapshot from {node_id}/{camera} yet" + (f" for {cmd_id}" if cmd_id else ""))
    name = m.key.rsplit("/", 1)[1]
    return SnapshotOut(url=f"/api/media/{m.id}", cmd_id=name.removesuffix(".jpg"), stored_at=from_epoch(m.stored_at))
