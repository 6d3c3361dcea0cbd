"""Who may publish and subscribe to what: Mosquitto's password file and ACL for the topic
contract. The cloud renders them from its node registry (`gridwatch-cloud mosquitto-config`);
the development broker renders them from a fixed user list. One renderer, so tests exercise
exactly the ACL a deployment runs.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

ACL_TEMPLATE = Path(__file__).resolve().parent.parent / "configs" / "mosquitto" / "acl.template"
# Mosquitto 2 verifies with the iteration count stored in each line; the passwords we issue
# are 256-bit random tokens, so the count guards only human-chosen cloud passwords.
PBKDF2_ITERATIONS = 10_000


def password_hash(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """A Mosquitto 2 password-file hash: `$7$<iterations>$<salt b64>$<PBKDF2-SHA512 b64>`."""
    salt = os.urandom(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_file(entries: Iterable[tuple[str, str]]) -> str:
    """Lines `user:hash` from (user, already-made hash) pairs."""
    return "".join(f"{user}:{hashed}\n" for user, hashed in entries)


def acl(prefix: str, cloud_users: Iterable[str]) -> str:
    """Cloud users read and write everything under the prefix; every other user is a node
    whose user name is its node id and may write only its own topics and read its own acks
    and commands (Mosquitto's `%u` pattern)."""
    cloud = "\n".join(f"user {u}\ntopic readwrite {prefix}/#\ntopic read $SYS/#\n" for u in cloud_users)
    return ACL_TEMPLATE.read_text().format(prefix=prefix, cloud_users=cloud)
