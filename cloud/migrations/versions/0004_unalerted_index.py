"""a partial index on the events the alerting engine has not handled yet, so its poll reads
a handful of rows instead of every event of the last minute during a burst.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UNALERTED = "alert_rev IS NULL OR alert_rev < revision"


def upgrade() -> None:
    op.create_index(
        "ix_events_unalerted",
        "events",
        ["updated_at"],
        sqlite_where=sa.text(UNALERTED),
        postgresql_where=sa.text(UNALERTED),
    )


def downgrade() -> None:
    op.drop_index("ix_events_unalerted", table_name="events")
