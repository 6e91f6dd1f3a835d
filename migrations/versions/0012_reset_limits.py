"""Per-client limit on password-reset requests (keyed hash of the client address)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('password_reset_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTC, nullable=False),
    sa.Column('client_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_request'))
    )
    op.create_index(op.f('ix_password_reset_request_at'), 'password_reset_request', ['at'], unique=False)
    op.create_index(
        op.f('ix_password_reset_request_client_hash'), 'password_reset_request', ['client_hash'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_password_reset_request_client_hash'), table_name='password_reset_request')
    op.drop_index(op.f('ix_password_reset_request_at'), table_name='password_reset_request')
    op.drop_table('password_reset_request')
