"""Scheduler: job history, SQLite scheduler lease, post-trip feedback on matches

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:37:47.273501
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import carpool.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('started_at', carpool.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', carpool.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run'))
    )
    op.create_index(op.f('ix_job_run_name'), 'job_run', ['name'], unique=False)

    op.create_table('scheduler_lease',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('expires_at', carpool.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_lease'))
    )
    # Plain ALTER TABLE ADD COLUMN (nullable, no default): no batch copy of the table.
    op.add_column('ride_match', sa.Column('feedback_asked_at', carpool.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('ride_match', sa.Column('feedback_ok', sa.Boolean(), nullable=True))
    op.add_column('ride_match', sa.Column('feedback_at', carpool.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # ride_match holds no geometry: SQLite's batch copy is safe here.
    with op.batch_alter_table('ride_match', schema=None) as batch_op:
        batch_op.drop_column('feedback_at')
        batch_op.drop_column('feedback_ok')
        batch_op.drop_column('feedback_asked_at')

    op.drop_table('scheduler_lease')
    op.drop_index(op.f('ix_job_run_name'), table_name='job_run')
    op.drop_table('job_run')
