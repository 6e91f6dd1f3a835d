"""Round trips: a request's way back has a latest time, a one-way choice, and matches have a leg

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)
LEG = sa.Enum('out', 'back', name='leg', native_enum=False, create_constraint=True, length=24)
#: The default return window of every association, and of requests asked before this revision.
RETURN_WINDOW = timedelta(minutes=90)


def upgrade() -> None:
    op.add_column('association', sa.Column('return_window_min', sa.Integer(), server_default=sa.text('90'),
                                           nullable=False))
    # Plain columns (no CHECK): SQLite would copy ride_request, which holds geometries.
    op.add_column('ride_request', sa.Column('return_latest', UTC, nullable=True))
    op.add_column('ride_request', sa.Column('one_way', sa.Boolean(), server_default=sa.false(), nullable=False))
    requests = sa.table('ride_request', sa.column('id'), sa.column('return_at', UTC), sa.column('return_latest', UTC))
    conn = op.get_bind()
    asked = conn.execute(sa.select(requests.c.id, requests.c.return_at).where(requests.c.return_at.is_not(None)))
    for request_id, return_at in asked.all():
        conn.execute(
            requests.update().where(requests.c.id == request_id).values(return_latest=return_at + RETURN_WINDOW)
        )
    # Every match made so far took the resident to the appointment; a waiting volunteer's way back
    # stays part of that match (its duty), as before.
    with op.batch_alter_table('ride_match', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leg', LEG, server_default='out', nullable=False))
    live = sa.text("status IN ('proposed', 'accepted', 'confirmed')")
    op.create_index(
        'uq_ride_match_live_leg', 'ride_match', ['request_id', 'leg'], unique=True,
        sqlite_where=live, postgresql_where=live,
    )


def downgrade() -> None:
    op.drop_index('uq_ride_match_live_leg', table_name='ride_match')
    with op.batch_alter_table('ride_match', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_ride_match_leg'), type_='check')
        batch_op.drop_column('leg')
    op.drop_column('ride_request', 'one_way')
    op.drop_column('ride_request', 'return_latest')
    op.drop_column('association', 'return_window_min')
