"""Coordinators: second factor, per-IP log-in failures, driver vetting details, erasure, confirmation time

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTC, nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    op.create_index(op.f('ix_login_failure_at'), 'login_failure', ['at'], unique=False)
    op.create_index(op.f('ix_login_failure_ip_hash'), 'login_failure', ['ip_hash'], unique=False)
    # Plain ALTER TABLE ADD COLUMN (nullable or with a server default): no batch copy of geometry tables.
    op.add_column('user_account', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.add_column('user_account', sa.Column('totp_last_step', sa.Integer(), nullable=True))
    op.add_column('user_account', sa.Column('sees_health_data', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('driver', sa.Column('licence_valid_until', sa.Date(), nullable=True))
    op.add_column('driver', sa.Column('insurance_valid_until', sa.Date(), nullable=True))
    op.add_column('driver', sa.Column('documents_checked_at', UTC, nullable=True))
    op.add_column('driver', sa.Column('vetting_note', sa.Text(), server_default='', nullable=False))
    op.add_column('resident', sa.Column('erased_at', UTC, nullable=True))
    op.add_column('named_place', sa.Column('archived_at', UTC, nullable=True))
    op.add_column('ride_match', sa.Column('confirmed_at', UTC, nullable=True))


def downgrade() -> None:
    # These tables hold geometries: SQLite's batch copy would lose their SpatiaLite registration,
    # so the added columns are dropped one by one (SQLite ≥ 3.35 drops plain columns in place).
    for table, column in (
        ('ride_match', 'confirmed_at'),
        ('named_place', 'archived_at'),
        ('resident', 'erased_at'),
        ('driver', 'vetting_note'),
        ('driver', 'documents_checked_at'),
        ('driver', 'insurance_valid_until'),
        ('driver', 'licence_valid_until'),
        ('user_account', 'sees_health_data'),
        ('user_account', 'totp_last_step'),
        ('user_account', 'totp_secret'),
    ):
        op.drop_column(table, column)
    op.drop_index(op.f('ix_login_failure_ip_hash'), table_name='login_failure')
    op.drop_index(op.f('ix_login_failure_at'), table_name='login_failure')
    op.drop_table('login_failure')
