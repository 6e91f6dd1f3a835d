"""Messages that need a person: why, who calls back, when it was handled

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)
REASON = sa.Enum(
    'unknown_sender', 'not_understood', 'asks_call', 'bad_trip',
    name='attentionreason', native_enum=False, create_constraint=True, length=24,
)


def upgrade() -> None:
    # Batch: SQLite adds foreign keys and CHECKs only by copying the table (no geometry here).
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attention_reason', REASON, nullable=True))
        batch_op.add_column(sa.Column('callback_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('callback_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('handled_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('handled_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_inbound_message_callback_by_id_user_account'), 'user_account', ['callback_by_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_inbound_message_handled_by_id_user_account'), 'user_account', ['handled_by_id'], ['id']
        )
        batch_op.create_index(
            'ix_inbound_message_to_handle', ['association_id', 'needs_attention', 'handled_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_message_to_handle')
        batch_op.drop_constraint(batch_op.f('fk_inbound_message_handled_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_inbound_message_callback_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('handled_by_id')
        batch_op.drop_column('handled_at')
        batch_op.drop_column('callback_by_id')
        batch_op.drop_column('callback_at')
        batch_op.drop_constraint(batch_op.f('ck_inbound_message_attentionreason'), type_='check')
        batch_op.drop_column('attention_reason')
