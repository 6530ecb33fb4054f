"""`campaigns` and `campaign_assignments`: retention campaigns and who was in which arm.

A campaign records its name (unique), when it started, the production model version that
scored it, the ranking rule and parameters, and the salt of its arm assignment; `learned` holds
the uplift model and its evidence once `churn campaign learn` ran. Each assignment holds the
customer ID keyed like the prediction log and the outcomes (`churn.privacy.customer_key`), so
outcomes join to it, the arm, the rank and the scores the plan used.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("rank_rule", sa.String(16), nullable=False),
        sa.Column("budget", sa.Integer, nullable=False),
        sa.Column("control_share", sa.Float, nullable=False),
        sa.Column("offer_cost", sa.Float, nullable=False),
        sa.Column("saved_value", sa.Float, nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("n_treated", sa.Integer, nullable=False),
        sa.Column("n_control", sa.Integer, nullable=False),
        sa.Column("source_file", sa.String(255), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("learned", sa.Text, nullable=True),
    )
    op.create_table(
        "campaign_assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "campaign_id",
            sa.Integer,
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("customerID", sa.String(64), nullable=False),
        sa.Column("arm", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("expected_value", sa.Float, nullable=False),
        sa.Column("predicted_uplift", sa.Float, nullable=True),
    )
    op.create_index(
        "ux_campaign_assignments_customer",
        "campaign_assignments",
        ["campaign_id", "customerID"],
        unique=True,
    )
    op.create_index("ix_campaign_assignments_customer", "campaign_assignments", ["customerID"])


def downgrade() -> None:
    op.drop_table("campaign_assignments")
    op.drop_table("campaigns")
