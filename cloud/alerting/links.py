"""Signed, expiring, one-time links: how a grid worker acknowledges from a chat message without
logging in on a phone.

A token is `base64url(json payload).base64url(HMAC-SHA256)`; the payload names the alarm, the
person the message was for, the expiry and a random nonce. The signature proves the cloud made
it; the expiry bounds a leaked chat history; the nonce, written to `link_uses` when the link is
used in the same transaction as the action it allows, makes it work once (a primary key, so
two replicas cannot both accept it). The secret is
made once and shared by the replicas through the settings table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from cloud.db import Database, LinkUse, Setting

SECRET_KEY = "alerting.link_secret"


class LinkError(Exception):
    pass


@dataclass(frozen=True)
class Link:
    alarm_id: int
    person: str
    expires_at: float
    nonce: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_secret(db: Database) -> bytes:
    """The shared signing secret, created by whichever replica needs it first."""
    with db.session() as s:
        row = s.get(Setting, SECRET_KEY)
        if row is not None:
            return row.value.encode()
    try:
        with db.session.begin() as s:
            s.add(Setting(key=SECRET_KEY, value=secrets.token_urlsafe(32), updated_by="system"))
    except IntegrityError:
        pass  # another replica made it first
    with db.session() as s:
        return s.get(Setting, SECRET_KEY).value.encode()


def make_token(secret: bytes, alarm_id: int, person: str, ttl_s: float, now: float | None = None) -> str:
    payload = {"a": alarm_id, "p": person, "x": int((now or time.time()) + ttl_s), "n": secrets.token_hex(8)}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


def read_token(secret: bytes, token: str, now: float | None = None) -> Link:
    """Check signature and expiry (not use): raise LinkError saying which failed."""
    try:
        body, sig = token.split(".", 1)
        good = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, good):
            raise LinkError("this link is not valid (signature)")
        data = json.loads(_unb64(body))
        link = Link(int(data["a"]), str(data["p"]), float(data["x"]), str(data["n"]))
    except (ValueError, KeyError, TypeError):
        raise LinkError("this link is not valid (malformed)") from None
    if link.expires_at < (now or time.time()):
        raise LinkError("this link has expired; open the alarm in the console")
    return link


def was_spent(db: Database, link: Link) -> bool:
    with db.session() as s:
        return s.get(LinkUse, link.nonce) is not None
