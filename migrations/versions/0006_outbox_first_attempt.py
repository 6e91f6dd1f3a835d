"""Outbox: when the first send attempt was made, on the dispatcher's clock

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'outbound_message',
        sa.Column('first_attempt_at', carpool.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    # outbound_message holds no geometry: SQLite's batch copy is safe here.
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_column('first_attempt_at')
