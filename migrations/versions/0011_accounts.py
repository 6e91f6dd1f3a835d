"""Accounts: API tokens expire, the TOTP enrolment secret kept server-side, TOTP for every coordinator

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

UTC_TYPE = carpool.db.UTCDateTime(timezone=True)
#: Tokens made before expiry existed get the default lifetime from the day of the upgrade.
DEFAULT_TTL = timedelta(days=90)


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN (nullable or with a server default): no batch copy of geometry tables.
    op.add_column('api_token', sa.Column('expires_at', UTC_TYPE, nullable=True))
    op.add_column('user_account', sa.Column('totp_pending_secret', sa.String(length=64), nullable=True))
    op.add_column(
        'association',
        sa.Column('totp_for_all_coordinators', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    api_token = sa.table('api_token', sa.column('expires_at', UTC_TYPE))
    op.execute(
        api_token.update()
        .where(api_token.c.expires_at.is_(None))
        .values(expires_at=datetime.now(UTC) + DEFAULT_TTL)
    )


def downgrade() -> None:
    # SQLite ≥ 3.35 drops plain columns in place (see 0007).
    op.drop_column('association', 'totp_for_all_coordinators')
    op.drop_column('user_account', 'totp_pending_secret')
    op.drop_column('api_token', 'expires_at')
