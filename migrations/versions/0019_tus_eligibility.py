"""Transport d'utilité sociale: residents' eligibility, communes' flags, long trips, report figures

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db
from carpool.matching.router import haversine_km

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)
#: The matcher's router (carpool.matching.CrowFlyRouter): crow-fly distance × 1.3.
CIRCUITY = 1.3


def upgrade() -> None:
    op.create_table('commune_eligibility',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('association_id', sa.Integer(), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.Column('eligible', sa.Boolean(), nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['association_id'], ['association.id'],
                            name=op.f('fk_commune_eligibility_association_id_association')),
    sa.ForeignKeyConstraint(['commune_insee'], ['commune.insee'],
                            name=op.f('fk_commune_eligibility_commune_insee_commune')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commune_eligibility')),
    sa.UniqueConstraint('association_id', 'commune_insee',
                        name=op.f('uq_commune_eligibility_association_id_commune_insee')),
    )
    op.create_index(op.f('ix_commune_eligibility_association_id'), 'commune_eligibility', ['association_id'],
                    unique=False)
    op.add_column('association', sa.Column('founded_on', sa.Date(), nullable=True))
    op.add_column('association', sa.Column('employees_count', sa.Integer(), nullable=True))
    op.add_column('association', sa.Column('volunteers_count', sa.Integer(), nullable=True))
    op.add_column('association', sa.Column('members_count', sa.Integer(), nullable=True))
    op.add_column('association', sa.Column('tus_rules', sa.Text(), server_default='', nullable=False))
    # Plain columns (no CHECK): SQLite would copy resident, driver and ride_request, which hold geometries.
    op.add_column('resident', sa.Column('tus_basis', sa.String(length=24), nullable=True))
    op.add_column('resident', sa.Column('tus_benefit', sa.String(length=16), nullable=True))
    op.add_column('resident', sa.Column('tus_proof_seen_on', sa.Date(), nullable=True))
    op.add_column('resident', sa.Column('tus_renew_on', sa.Date(), nullable=True))
    op.add_column('driver', sa.Column('is_volunteer', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('ride_request', sa.Column('route_km', sa.Double(), nullable=True))
    op.add_column('ride_request', sa.Column('long_trip_reason', sa.Text(), nullable=True))
    _measure_existing_requests()


def _measure_existing_requests() -> None:
    """The router's distance of every request asked before this revision (ST_X/ST_Y on both backends)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        'SELECT id, ST_X(pickup_point), ST_Y(pickup_point), ST_X(dropoff_point), ST_Y(dropoff_point) '
        'FROM ride_request'
    )).all()
    update = sa.text('UPDATE ride_request SET route_km = :km WHERE id = :id')
    for request_id, lon1, lat1, lon2, lat2 in rows:
        if None in (lon1, lat1, lon2, lat2):
            continue
        conn.execute(update, {'id': request_id, 'km': round(haversine_km((lon1, lat1), (lon2, lat2)) * CIRCUITY, 3)})


def downgrade() -> None:
    op.drop_column('ride_request', 'long_trip_reason')
    op.drop_column('ride_request', 'route_km')
    op.drop_column('driver', 'is_volunteer')
    op.drop_column('resident', 'tus_renew_on')
    op.drop_column('resident', 'tus_proof_seen_on')
    op.drop_column('resident', 'tus_benefit')
    op.drop_column('resident', 'tus_basis')
    op.drop_column('association', 'tus_rules')
    op.drop_column('association', 'members_count')
    op.drop_column('association', 'volunteers_count')
    op.drop_column('association', 'employees_count')
    op.drop_column('association', 'founded_on')
    op.drop_index(op.f('ix_commune_eligibility_association_id'), table_name='commune_eligibility')
    op.drop_table('commune_eligibility')
