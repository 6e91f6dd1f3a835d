"""Money: residents' participation per leg, drivers' monthly choice (reimbursement or waiver)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 07:10:00

Existing associations keep their drivers' rate (``rate_per_km``): only new ones
start from the tax scale (docs/money.md). Participation starts disabled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

UTC = carpool.db.UTCDateTime(timezone=True)
METHOD = sa.Enum('cash', 'cheque', 'transfer', name='paymentmethod', native_enum=False, create_constraint=True,
                 length=24)
CHOICE = sa.Enum('reimburse', 'waive', name='expensechoice', native_enum=False, create_constraint=True,
                 length=24)


def upgrade() -> None:
    op.add_column('association', sa.Column('participation_enabled', sa.Boolean(), server_default=sa.false(),
                                           nullable=False))
    op.add_column('association', sa.Column('participation_per_km', sa.Numeric(precision=5, scale=3),
                                           server_default=sa.text('0'), nullable=False))
    op.add_column('association', sa.Column('legal_address', sa.Text(), server_default='', nullable=False))
    op.add_column('association', sa.Column('legal_number', sa.String(length=20), server_default='',
                                           nullable=False))
    op.add_column('association', sa.Column('legal_object', sa.Text(), server_default='', nullable=False))
    op.create_table('leg_participation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('association_id', sa.Integer(), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('km', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('price_per_km', sa.Numeric(precision=5, scale=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('method', METHOD, nullable=True),
    sa.Column('recorded_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_leg_participation_amount_positive')),
    sa.CheckConstraint('(paid_on IS NULL) = (method IS NULL)', name=op.f('ck_leg_participation_paid_whole')),
    sa.ForeignKeyConstraint(['association_id'], ['association.id'],
                            name=op.f('fk_leg_participation_association_id_association')),
    sa.ForeignKeyConstraint(['match_id'], ['ride_match.id'], name=op.f('fk_leg_participation_match_id_ride_match')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'],
                            name=op.f('fk_leg_participation_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leg_participation')),
    sa.UniqueConstraint('match_id', name=op.f('uq_leg_participation_match_id')),
    )
    with op.batch_alter_table('leg_participation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leg_participation_association_id'), ['association_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leg_participation_resident_id'), ['resident_id'], unique=False)

    op.create_table('monthly_expenses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('association_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('choice', CHOICE, nullable=False),
    sa.Column('km', sa.Numeric(precision=8, scale=1), nullable=False),
    sa.Column('rate_per_km', sa.Numeric(precision=5, scale=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=9, scale=2), nullable=False),
    sa.Column('trip_days', sa.Text(), nullable=False),
    sa.Column('chosen_at', UTC, nullable=False),
    sa.Column('settled_at', UTC, nullable=True),
    sa.Column('settled_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['association_id'], ['association.id'],
                            name=op.f('fk_monthly_expenses_association_id_association')),
    sa.ForeignKeyConstraint(['driver_id'], ['driver.id'], name=op.f('fk_monthly_expenses_driver_id_driver')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_expenses')),
    sa.UniqueConstraint('driver_id', 'month', name=op.f('uq_monthly_expenses_driver_id_month')),
    )
    with op.batch_alter_table('monthly_expenses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monthly_expenses_association_id'), ['association_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_monthly_expenses_driver_id'), ['driver_id'], unique=False)


def downgrade() -> None:
    op.drop_table('monthly_expenses')
    op.drop_table('leg_participation')
    with op.batch_alter_table('association', schema=None) as batch_op:
        batch_op.drop_column('legal_object')
        batch_op.drop_column('legal_number')
        batch_op.drop_column('legal_address')
        batch_op.drop_column('participation_per_km')
        batch_op.drop_column('participation_enabled')
