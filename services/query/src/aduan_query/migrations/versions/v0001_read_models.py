"""Read models: complaint view and its versions, audit trail, custody, office queues, tracking.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_trail",
        sa.Column("event_id", sa.String(length=48), nullable=False),
        sa.Column("complaint_id", sa.String(length=36), nullable=False),
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=48), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=128), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("actor_office", sa.String(length=32), nullable=False),
        sa.Column("from_office", sa.String(length=32), nullable=False),
        sa.Column("to_office", sa.String(length=32), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("ruleset_version", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("aggregate_version", sa.BigInteger(), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("causation_id", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_audit_trail")),
    )
    op.create_index(
        "ix_audit_trail_complaint",
        "audit_trail",
        ["complaint_id", "occurred_at", "service", "position"],
        unique=False,
    )
    op.create_index(
        "ix_audit_trail_history",
        "audit_trail",
        ["occurred_at", "service", "position"],
        unique=False,
    )
    op.create_table(
        "complaint_versions",
        sa.Column("complaint_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticket_number", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("routing_status", sa.String(length=16), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("filed", sa.Boolean(), nullable=False),
        sa.Column("classified", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("regency_code", sa.String(length=5), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("holding_office", sa.String(length=32), nullable=False),
        sa.Column("office_chain", sa.String(length=160), nullable=False),
        sa.Column("accept_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached", sa.String(length=64), nullable=False),
        sa.Column("masked_contact", sa.String(length=64), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("reporter_erased", sa.Boolean(), nullable=False),
        sa.Column("reassignment_count", sa.Integer(), nullable=False),
        sa.Column("ping_pong_flagged", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_service", sa.String(length=16), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("last_event_id", sa.String(length=48), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", "valid_from", name=op.f("pk_complaint_versions")),
    )
    op.create_index(
        "ix_complaint_versions_filed",
        "complaint_versions",
        ["filed_at", "complaint_id"],
        unique=False,
    )
    op.create_index(
        "ix_complaint_versions_period",
        "complaint_versions",
        ["valid_from", "valid_to"],
        unique=False,
    )
    op.create_index(
        "ix_complaint_versions_ticket", "complaint_versions", ["ticket_number"], unique=False
    )
    op.create_table(
        "complaints",
        sa.Column("complaint_id", sa.String(length=36), nullable=False),
        sa.Column("ticket_number", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("routing_status", sa.String(length=16), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("filed", sa.Boolean(), nullable=False),
        sa.Column("classified", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("regency_code", sa.String(length=5), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("holding_office", sa.String(length=32), nullable=False),
        sa.Column("office_chain", sa.String(length=160), nullable=False),
        sa.Column("accept_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached", sa.String(length=64), nullable=False),
        sa.Column("masked_contact", sa.String(length=64), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("reporter_erased", sa.Boolean(), nullable=False),
        sa.Column("reassignment_count", sa.Integer(), nullable=False),
        sa.Column("ping_pong_flagged", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_service", sa.String(length=16), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("last_event_id", sa.String(length=48), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaints")),
    )
    op.create_index("ix_complaints_filed", "complaints", ["filed_at", "complaint_id"], unique=False)
    op.create_index(
        "ix_complaints_office", "complaints", ["holding_office", "filed_at"], unique=False
    )
    op.create_index("ix_complaints_status", "complaints", ["status", "filed_at"], unique=False)
    op.create_index("ix_complaints_ticket", "complaints", ["ticket_number"], unique=True)
    op.create_table(
        "custody",
        sa.Column("complaint_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("received_from", sa.String(length=32), nullable=False),
        sa.Column("handed_to", sa.String(length=32), nullable=False),
        sa.Column("from_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held_seconds", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("complaint_id", "seq", name=op.f("pk_custody")),
    )
    op.create_index("ix_custody_office", "custody", ["office_code", "from_at"], unique=False)
    op.create_table(
        "office_queue",
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("complaint_id", sa.String(length=36), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office_code", "complaint_id", name=op.f("pk_office_queue")),
    )
    op.create_index("ix_office_queue_complaint", "office_queue", ["complaint_id"], unique=False)
    op.create_table(
        "tracking",
        sa.Column("upstream", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("upstream", name=op.f("pk_tracking")),
    )


def downgrade() -> None:
    op.drop_table("tracking")
    op.drop_index("ix_office_queue_complaint", table_name="office_queue")
    op.drop_table("office_queue")
    op.drop_index("ix_custody_office", table_name="custody")
    op.drop_table("custody")
    op.drop_index("ix_complaints_ticket", table_name="complaints")
    op.drop_index("ix_complaints_status", table_name="complaints")
    op.drop_index("ix_complaints_office", table_name="complaints")
    op.drop_index("ix_complaints_filed", table_name="complaints")
    op.drop_table("complaints")
    op.drop_index("ix_complaint_versions_ticket", table_name="complaint_versions")
    op.drop_index("ix_complaint_versions_period", table_name="complaint_versions")
    op.drop_index("ix_complaint_versions_filed", table_name="complaint_versions")
    op.drop_table("complaint_versions")
    op.drop_index("ix_audit_trail_history", table_name="audit_trail")
    op.drop_index("ix_audit_trail_complaint", table_name="audit_trail")
    op.drop_table("audit_trail")
