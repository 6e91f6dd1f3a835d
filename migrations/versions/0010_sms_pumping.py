"""SMS pumping: opt-outs of non-residents, reply budgets counted in the database, sign-up phone codes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('sms_opt_out',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('opted_out_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_opt_out')),
    sa.UniqueConstraint('phone', name=op.f('uq_sms_opt_out_phone'))
    )
    op.create_table('sms_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('window_start', UTC, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_counter')),
    sa.UniqueConstraint('key', name=op.f('uq_sms_counter_key'))
    )
    op.create_table('phone_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('code_hash', sa.String(length=100), nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('verified_at', UTC, nullable=True),
    sa.Column('used_at', UTC, nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_verification'))
    )
    op.create_index(op.f('ix_phone_verification_phone'), 'phone_verification', ['phone'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_phone_verification_phone'), table_name='phone_verification')
    op.drop_table('phone_verification')
    op.drop_table('sms_counter')
    op.drop_table('sms_opt_out')
