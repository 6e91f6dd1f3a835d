"""Phone calls: a resident's channel (sms, voice, sms+voice) and the outbox's channel

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), server_default='sms', nullable=False))
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=5), server_default='sms', nullable=False))
        batch_op.add_column(sa.Column('trip_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('answered_by', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('call_status', sa.String(length=20), nullable=True))
    # Residents registered before had to give a mobile: any other number is a landline, called.
    op.execute("UPDATE resident SET channel = 'voice' WHERE phone NOT LIKE '+336%' AND phone NOT LIKE '+337%'")


def downgrade() -> None:
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_column('call_status')
        batch_op.drop_column('answered_by')
        batch_op.drop_column('trip_at')
        batch_op.drop_column('channel')
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_column('channel')
