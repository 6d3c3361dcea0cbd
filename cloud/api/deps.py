"""Request-scoped helpers: the service, who is calling, and role checks."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cloud.auth import Principal, Role, principal_for_session
from cloud.registry import node_for_token
from cloud.service import CloudService

SESSION_COOKIE = "gw_session"
bearer = HTTPBearer(auto_error=False, description="A session token from /api/auth/login, or a node's upload token.")


def service(request: Request) -> CloudService:
    return request.app.state.service


def session_token(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str | None:
    if creds is not None:
        return creds.credentials
    return request.cookies.get(SESSION_COOKIE)


def user(token: str | None = Depends(session_token), svc: CloudService = Depends(service)) -> Principal:
    """The logged-in user; 401 otherwise."""
    principal = principal_for_session(svc.db, token) if token else None
    if principal is None:
        raise HTTPException(401, "log in first (POST /api/auth/login)", headers={"WWW-Authenticate": "Bearer"})
    return principal


def node(token: str | None = Depends(session_token), svc: CloudService = Depends(service)) -> Principal:
    """The edge node whose upload token this is; 401 otherwise."""
    with svc.db.session() as s:
        found = node_for_token(s, token) if token else None
        if found is None:
            raise HTTPException(401, "unknown or revoked node token", headers={"WWW-Authenticate": "Bearer"})
        return Principal(f"node:{found.id}", node=found.id, node_site=found.site)


def require(*roles: Role) -> Callable[[Principal], Principal]:
    def check(p: Principal = Depends(user)) -> Principal:
        if p.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(403, f"this needs the role {allowed}; you are {p.role}")
        return p

    return check
