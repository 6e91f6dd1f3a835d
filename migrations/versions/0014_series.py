"""Recurring appointments: a resident's series, and the requests it made, one per day

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)
PURPOSE = sa.Enum('medical', 'shopping', 'administration', 'social', 'other', name='purpose', native_enum=False,
                  create_constraint=True, length=24)
STATE = sa.Enum('active', 'paused', 'ended', name='seriesstate', native_enum=False, create_constraint=True,
                length=24)


def upgrade() -> None:
    op.create_table('appointment_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('association_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('pickup_commune_insee', sa.String(), nullable=False),
    sa.Column('pickup_lon', sa.Double(), nullable=False),
    sa.Column('pickup_lat', sa.Double(), nullable=False),
    sa.Column('dropoff_commune_insee', sa.String(), nullable=False),
    sa.Column('dropoff_lon', sa.Double(), nullable=False),
    sa.Column('dropoff_lat', sa.Double(), nullable=False),
    sa.Column('dropoff_place_id', sa.Integer(), nullable=True),
    sa.Column('weekdays', sa.String(length=20), nullable=False),
    sa.Column('arrive_by', sa.Time(), nullable=False),
    sa.Column('depart_after', sa.Time(), nullable=True),
    sa.Column('return_at', sa.Time(), nullable=True),
    sa.Column('every_weeks', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('purpose', PURPOSE, nullable=False),
    sa.Column('passengers', sa.Integer(), nullable=False),
    sa.Column('state', STATE, nullable=False),
    sa.Column('paused_until', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('ended_at', UTC, nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.CheckConstraint('every_weeks IN (1, 2)', name=op.f('ck_appointment_series_every_weeks_range')),
    sa.CheckConstraint('passengers BETWEEN 1 AND 8', name=op.f('ck_appointment_series_passengers_range')),
    sa.CheckConstraint('until IS NULL OR until >= first_day', name=op.f('ck_appointment_series_until_order')),
    sa.ForeignKeyConstraint(['association_id'], ['association.id'],
                            name=op.f('fk_appointment_series_association_id_association')),
    sa.ForeignKeyConstraint(['dropoff_commune_insee'], ['commune.insee'],
                            name=op.f('fk_appointment_series_dropoff_commune_insee_commune')),
    sa.ForeignKeyConstraint(['dropoff_place_id'], ['named_place.id'],
                            name=op.f('fk_appointment_series_dropoff_place_id_named_place')),
    sa.ForeignKeyConstraint(['pickup_commune_insee'], ['commune.insee'],
                            name=op.f('fk_appointment_series_pickup_commune_insee_commune')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'],
                            name=op.f('fk_appointment_series_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_series'))
    )
    with op.batch_alter_table('appointment_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_series_association_id'), ['association_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_series_resident_id'), ['resident_id'], unique=False)
    # A plain ADD COLUMN with its REFERENCES inline on SQLite: batch mode would copy ride_request,
    # which holds geometries.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(
            'ALTER TABLE ride_request ADD COLUMN series_id INTEGER '
            'CONSTRAINT fk_ride_request_series_id_appointment_series REFERENCES appointment_series (id)'
        )
    else:
        op.add_column('ride_request', sa.Column('series_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f('fk_ride_request_series_id_appointment_series'), 'ride_request', 'appointment_series',
            ['series_id'], ['id'],
        )
    op.add_column('ride_request', sa.Column('series_day', sa.Date(), nullable=True))
    op.create_index('uq_ride_request_series_day', 'ride_request', ['series_id', 'series_day'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_ride_request_series_day', table_name='ride_request')
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite drops a column only without its REFERENCES: the foreign key goes with the copy.
        with op.batch_alter_table('ride_request', schema=None) as batch_op:
            batch_op.drop_column('series_day')
            batch_op.drop_column('series_id')
    else:
        op.drop_constraint('fk_ride_request_series_id_appointment_series', 'ride_request', type_='foreignkey')
        op.drop_column('ride_request', 'series_day')
        op.drop_column('ride_request', 'series_id')
    op.drop_table('appointment_series')
