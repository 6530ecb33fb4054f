"""Campaign design fields, contacts and the global hold-out (docs/campaigns.md).

- `campaigns`: `horizon_days` (the outcome window fixed at plan time) and the power figure the
  plan printed (`baseline_churn`, `min_detectable_uplift`); NULL for campaigns planned before.
- `campaign_assignments`: the segments recorded at plan time (`risk_decile`, `contract`,
  `tenure_band`), for the stratified split and the effects by segment; NULL before.
- `campaign_contacts`: who of a campaign's treated arm was actually reached, and when
  (`churn campaign contacts import`), keyed like the assignments.
- `campaign_holdout`: the global hold-out (`churn campaign holdout`): a share and a salt; a
  customer whose salted bucket falls under the share is kept out of every campaign. The newest
  row is in force.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("horizon_days", sa.Integer, nullable=True))
        batch.add_column(sa.Column("baseline_churn", sa.Float, nullable=True))
        batch.add_column(sa.Column("min_detectable_uplift", sa.Float, nullable=True))
    with op.batch_alter_table("campaign_assignments") as batch:
        batch.add_column(sa.Column("risk_decile", sa.Integer, nullable=True))
        batch.add_column(sa.Column("contract", sa.String(32), nullable=True))
        batch.add_column(sa.Column("tenure_band", sa.String(16), nullable=True))
    op.create_table(
        "campaign_contacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "campaign_id",
            sa.Integer,
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("customerID", sa.String(64), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ux_campaign_contacts_customer",
        "campaign_contacts",
        ["campaign_id", "customerID"],
        unique=True,
    )
    op.create_index("ix_campaign_contacts_customer", "campaign_contacts", ["customerID"])
    op.create_table(
        "campaign_holdout",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("campaign_holdout")
    op.drop_table("campaign_contacts")
    with op.batch_alter_table("campaign_assignments") as batch:
        batch.drop_column("tenure_band")
        batch.drop_column("contract")
        batch.drop_column("risk_decile")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("min_detectable_uplift")
        batch.drop_column("baseline_churn")
        batch.drop_column("horizon_days")
