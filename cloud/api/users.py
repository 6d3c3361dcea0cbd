"""Login, logout, who am I, and user administration (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from cloud.api.deps import SESSION_COOKIE, require, service, session_token, user
from cloud.auth import AuthError, Principal, Role, create_user, login, logout
from cloud.db import User
from cloud.service import CloudService

router = APIRouter(tags=["users"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    username: str
    role: Role
    grids: list[str]


class LoginResult(Me):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; the console uses the cookie.")
    expires_in_s: int


class NewUser(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    password: str = Field(min_length=10, max_length=200)
    role: Role
    grids: list[str] = Field(default_factory=list, description="For grid workers: `site/building` or `site/*`.")
    display_name: str = Field("", max_length=100)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    grids: list[str]
    disabled: bool


@router.post("/api/auth/login", response_model=LoginResult)
def do_login(body: Credentials, response: Response, svc: CloudService = Depends(service)) -> LoginResult:
    hours = svc.cfg.auth.session_hours
    try:
        token, u = login(svc.db, body.username, body.password, hours)
    except AuthError as exc:
        raise HTTPException(401, str(exc)) from None
    response.set_cookie(SESSION_COOKIE, token, max_age=int(hours * 3600), httponly=True, samesite="strict",
                        secure=svc.cfg.auth.cookie_secure)  # fmt: skip
    return LoginResult(username=u.username, role=Role(u.role), grids=u.grids or [], token=token,
                       expires_in_s=int(hours * 3600))  # fmt: skip


@router.post("/api/auth/logout", status_code=204)
def do_logout(
    response: Response, token: str | None = Depends(session_token), svc: CloudService = Depends(service)
) -> None:
    if token:
        logout(svc.db, token)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/api/me", response_model=Me)
def me(p: Principal = Depends(user)) -> Me:
    return Me(username=p.name, role=p.role or Role.operator, grids=sorted(p.grids))


@router.get("/api/users", response_model=list[UserOut])
def list_users(p: Principal = Depends(require(Role.admin)), svc: CloudService = Depends(service)) -> list[UserOut]:
    with svc.db.session() as s:
        return [
            UserOut(
                id=u.id,
                username=u.username,
                display_name=u.display_name,
                role=Role(u.role),
                grids=u.grids or [],
                disabled=u.disabled,
            )  # fmt: skip
            for u in s.scalars(select(User).order_by(User.username))
        ]


@router.post("/api/users", response_model=UserOut, status_code=201)
def add_user(
    body: NewUser, p: Principal = Depends(require(Role.admin)), svc: CloudService = Depends(service)
) -> UserOut:
    try:
        uid = create_user(svc.db, body.username, body.password, body.role, body.grids, body.display_name, actor=p.name)
    except AuthError as exc:
        raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from None
    return UserOut(id=uid, username=body.username, display_name=body.display_name or body.username, role=body.role,
                   grids=body.grids, disabled=False)  # fmt: skip
