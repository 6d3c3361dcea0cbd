"""The node registry: which edge nodes the cloud trusts, their MQTT passwords and upload
tokens, and the Mosquitto password file and ACL rendered from it.

Secrets are shown once, when a node is added; the database keeps only the Mosquitto hash of
the password and the SHA-256 of the token, so a stolen database does not let anyone publish.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit import audit
from cloud.auth import token_hash
from cloud.db import Database, Node, now
from contract import broker_auth

NODE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class NodeCredentials:
    node_id: str
    site: str
    mqtt_password: str
    upload_token: str


def add_node(db: Database, node_id: str, site: str, description: str = "", actor: str = "cli") -> NodeCredentials:
    """Register a node (or re-issue the secrets of a revoked one) and return its secrets."""
    for what, value in (("node id", node_id), ("site", site)):
        if not NODE_ID.match(value):
            raise RegistryError(
                f"{what} {value!r}: use letters, digits, '.', '_' or '-' (at most 64), no '/', '+', '#'"
            )
    creds = NodeCredentials(node_id, site, secrets.token_urlsafe(24), secrets.token_urlsafe(32))
    with db.session.begin() as s:
        node = s.get(Node, node_id)
        if node is not None and node.revoked_at is None:
            raise RegistryError(f"node {node_id!r} is already registered (site {node.site}); revoke it first")
        if node is None:
            node = Node(id=node_id)
            s.add(node)
        node.site, node.description, node.revoked_at = site, description, None
        node.mqtt_hash = broker_auth.password_hash(creds.mqtt_password)
        node.token_hash = token_hash(creds.upload_token)
        audit(s, actor, "node.add", node_id, site=site)
    return creds


def revoke_node(db: Database, node_id: str, actor: str = "cli") -> None:
    with db.session.begin() as s:
        node = s.get(Node, node_id)
        if node is None:
            raise RegistryError(f"no node {node_id!r}")
        if node.revoked_at is None:
            node.revoked_at = now()
            audit(s, actor, "node.revoke", node_id)


def list_nodes(db: Database) -> list[Node]:
    with db.session() as s:
        return list(s.scalars(select(Node).order_by(Node.site, Node.id)))


def node_for_token(s: Session, token: str) -> Node | None:
    node = s.scalar(select(Node).where(Node.token_hash == token_hash(token)))
    return node if node is not None and node.revoked_at is None else None


def mosquitto_files(db: Database, cloud_users: dict[str, str], prefix: str) -> tuple[str, str]:
    """(password file, ACL) for the active nodes plus the cloud's own users (name -> password)."""
    taken = set(cloud_users)
    entries = [(u, broker_auth.password_hash(p)) for u, p in cloud_users.items()]
    for node in list_nodes(db):
        if node.revoked_at is None:
            if node.id in taken:
                raise RegistryError(f"node id {node.id!r} is also a cloud MQTT user; rename one of them")
            entries.append((node.id, node.mqtt_hash))
    return broker_auth.password_file(entries), broker_auth.acl(prefix, cloud_users)


def write_mosquitto_files(db: Database, out_dir: Path, cloud_users: dict[str, str], prefix: str) -> tuple[Path, Path]:
    """Write `passwd` and `acl` into out_dir (mode 600); Mosquitto re-reads them on SIGHUP."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "passwd", out_dir / "acl"
    for path, text in zip(paths, mosquitto_files(db, cloud_users, prefix), strict=True):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)
        tmp.replace(path)
    return paths
