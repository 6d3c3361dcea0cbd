"""alerting: alarms, deliveries (the outbox), silences, used link nonces, shared settings;
events learn which alarm they raised and which revision alerting has handled.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("open_key", sa.String(length=300), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=True),
        sa.Column("building", sa.String(length=64), nullable=True),
        sa.Column("grid", sa.String(length=64), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("first_event_id", sa.String(length=26), nullable=False),
        sa.Column("last_event_id", sa.String(length=26), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("last_event_at", sa.Float(), nullable=False),
        sa.Column("window_until", sa.Float(), nullable=False),
        sa.Column("next_action_at", sa.Float(), nullable=True),
        sa.Column("notified_at", sa.Float(), nullable=True),
        sa.Column("acked_by", sa.String(length=100), nullable=True),
        sa.Column("acked_at", sa.Float(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("photo_media_id", sa.Integer(), nullable=True),
        sa.Column("inhibited_by", sa.Integer(), nullable=True),
        sa.Column("silenced_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alarms_grid"), ["grid"], unique=False)
        batch_op.create_index(batch_op.f("ix_alarms_next_action_at"), ["next_action_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alarms_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alarms_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=True),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("folded_into", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alarm_id", "step", "channel", name="uq_delivery_step"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_alarm_id"), ["alarm_id"], unique=False)
        batch_op.create_index("ix_deliveries_channel_sent", ["channel", "sent_at"], unique=False)
        batch_op.create_index("ix_deliveries_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "link_uses",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("building", sa.String(length=64), nullable=True),
        sa.Column("camera", sa.String(length=64), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_silences_ends_at"), ["ends_at"], unique=False)

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_rev", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("alarm_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_events_alarm_id"), ["alarm_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_alarm_id"))
        batch_op.drop_column("alarm_id")
        batch_op.drop_column("alert_rev")

    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_silences_ends_at"))

    op.drop_table("silences")
    op.drop_table("settings")
    op.drop_table("link_uses")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_due")
        batch_op.drop_index("ix_deliveries_channel_sent")
        batch_op.drop_index(batch_op.f("ix_deliveries_alarm_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarms_updated_at"))
        batch_op.drop_index(batch_op.f("ix_alarms_opened_at"))
        batch_op.drop_index(batch_op.f("ix_alarms_next_action_at"))
        batch_op.drop_index(batch_op.f("ix_alarms_grid"))

    op.drop_table("alarms")
