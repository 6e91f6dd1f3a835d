"""The association's phone line: office hours, on-duty phone, masking; calls and voice messages

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch copy): existing associations get no hours, no phone, no masking.
    op.add_column('association', sa.Column('on_duty_phone', sa.String(length=16), nullable=True))
    op.add_column('association', sa.Column('office_hours', sa.JSON(), server_default=sa.text("'{}'"),
                                           nullable=False))
    op.add_column('association', sa.Column('number_masking', sa.Boolean(), server_default=sa.false(),
                                           nullable=False))
    op.create_table('voice_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('association_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('driver_id', sa.Integer(), nullable=True),
    sa.Column('from_phone', sa.String(length=16), nullable=False),
    sa.Column('to_phone', sa.String(length=16), nullable=False),
    sa.Column('misses', sa.Integer(), nullable=False),
    sa.Column('throttled', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['association_id'], ['association.id'],
                            name=op.f('fk_voice_call_association_id_association')),
    sa.ForeignKeyConstraint(['driver_id'], ['driver.id'], name=op.f('fk_voice_call_driver_id_driver')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_voice_call_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_call')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_voice_call_call_sid'))
    )
    with op.batch_alter_table('voice_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_call_association_id'), ['association_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_call_from_phone'), ['from_phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_call_resident_id'), ['resident_id'], unique=False)
    op.create_table('voice_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('association_id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('recording_sid', sa.String(length=64), nullable=True),
    sa.Column('duration_s', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('from_phone', sa.String(length=16), nullable=False),
    sa.Column('callback_at', UTC, nullable=True),
    sa.Column('callback_by_id', sa.Integer(), nullable=True),
    sa.Column('handled_at', UTC, nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('forgotten_at', UTC, nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['association_id'], ['association.id'],
                            name=op.f('fk_voice_message_association_id_association')),
    sa.ForeignKeyConstraint(['callback_by_id'], ['user_account.id'],
                            name=op.f('fk_voice_message_callback_by_id_user_account')),
    sa.ForeignKeyConstraint(['handled_by_id'], ['user_account.id'],
                            name=op.f('fk_voice_message_handled_by_id_user_account')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'],
                            name=op.f('fk_voice_message_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_message')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_voice_message_call_sid')),
    sa.UniqueConstraint('recording_sid', name=op.f('uq_voice_message_recording_sid'))
    )
    with op.batch_alter_table('voice_message', schema=None) as batch_op:
        batch_op.create_index('ix_voice_message_to_handle', ['association_id', 'handled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_message_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    op.drop_table('voice_message')
    op.drop_table('voice_call')
    with op.batch_alter_table('association', schema=None) as batch_op:
        batch_op.drop_column('number_masking')
        batch_op.drop_column('office_hours')
        batch_op.drop_column('on_duty_phone')
