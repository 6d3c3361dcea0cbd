"""Users, roles, passwords and sessions.

Roles: `admin` (everything, users and nodes), `operator` (the control room: all events of
the estate, handles alarms), `grid_worker` (only the buildings in their grids),
`installer` (nodes, cameras, snapshots; no event handling). Passwords are hashed with
Argon2id (argon2-cffi); a session is a random token whose SHA-256 is stored, sent as a
Bearer header by apps or as an HttpOnly cookie by the console.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from cloud.audit import audit
from cloud.db import Database, SessionRow, User, now

_hasher = PasswordHasher()
# Compared against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")
MIN_PASSWORD = 10


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    grid_worker = "grid_worker"
    installer = "installer"


class AuthError(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user with a role, or a node (uploads only)."""

    name: str
    role: Role | None = None
    user_id: int | None = None
    grids: frozenset[str] = field(default_factory=frozenset)
    node: str | None = None
    node_site: str | None = None

    def sees_all(self) -> bool:
        return self.role in (Role.admin, Role.operator, Role.installer)

    def may_see(self, site: str, building: str | None) -> bool:
        return self.sees_all() or f"{site}/{building}" in self.grids or f"{site}/*" in self.grids


def create_user(
    db: Database,
    username: str,
    password: str,
    role: Role,
    grids: list[str] | None = None,
    display_name: str = "",
    actor: str = "cli",
) -> int:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"password too short: at least {MIN_PASSWORD} characters")
    for g in grids or []:
        if g.count("/") != 1 or not all(g.split("/")):
            raise AuthError(f"grid {g!r}: write `site/building` (or `site/*` for a whole site)")
    with db.session.begin() as s:
        if s.scalar(select(User).where(User.username == username)) is not None:
            raise AuthError(f"user {username!r} exists")
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=_hasher.hash(password),
            role=Role(role).value,
            grids=grids or [],
        )
        s.add(user)
        s.flush()
        audit(s, actor, "user.create", username, role=user.role, grids=user.grids)
        return user.id


def login(db: Database, username: str, password: str, hours: float) -> tuple[str, User]:
    """Check the password and open a session; the same error for a wrong name or password."""
    with db.session.begin() as s:
        user = s.scalar(select(User).where(User.username == username))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            if user is not None:
                audit(s, username, "auth.failed")
            raise AuthError("wrong user name or password") from None
        if user is None or user.disabled:
            raise AuthError("wrong user name or password")
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        token = secrets.token_urlsafe(32)
        s.add(SessionRow(token_hash=token_hash(token), user_id=user.id, expires_at=now() + hours * 3600))
        s.execute(delete(SessionRow).where(SessionRow.expires_at < now()))
        audit(s, username, "auth.login")
        return token, user


def logout(db: Database, token: str) -> None:
    with db.session.begin() as s:
        s.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash(token)))


def principal_for_session(db: Database, token: str) -> Principal | None:
    with db.session() as s:
        row = s.get(SessionRow, token_hash(token))
        if row is None or row.expires_at < now():
            return None
        user = s.get(User, row.user_id)
        if user is None or user.disabled:
            return None
        return Principal(user.username, Role(user.role), user.id, frozenset(user.grids or []))


def token_hash(token: str) -> str:
    """Session and upload tokens are stored as their SHA-256: random 256-bit tokens need no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()
