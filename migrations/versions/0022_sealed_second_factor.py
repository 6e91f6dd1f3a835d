"""Second-factor keys sealed at rest: room for a Fernet token behind its marker

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-06 10:50:00

A sealed key is "fernet:" and a 140-character token: 64 characters no longer hold it.
The values themselves are sealed by ``carpool db upgrade`` right after the migrations
(it has the key; a migration has not).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None

COLUMNS = ('totp_secret', 'totp_pending_secret')


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.String(length=64), type_=sa.String(length=255),
                                  existing_nullable=True)


def downgrade() -> None:
    # Sealed values do not fit back: they are longer than 64 characters. Going back means
    # giving up the second factors (each person enrols again), never cutting a token in two.
    op.execute(sa.text(
        "UPDATE user_account SET totp_secret = NULL, totp_last_step = NULL, totp_pending_secret = NULL "
        "WHERE length(totp_secret) > 64 OR length(totp_pending_secret) > 64"
    ))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.String(length=255), type_=sa.String(length=64),
                                  existing_nullable=True)
