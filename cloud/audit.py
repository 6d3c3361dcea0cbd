"""The audit log: one call for every state change, so who did what and when is never lost."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cloud.db import AuditEntry


def audit(session: Session, actor: str, action: str, target: str = "", **detail: Any) -> None:
    """Add an entry to `session`; it commits with the change it records."""
    session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail or None))
