"""Several associations: départements served, road speed, one resident number per association

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('association', sa.Column('departements', sa.String(length=200), server_default='',
                                           nullable=False))
    op.add_column('association', sa.Column('road_speed_kmh', sa.Integer(), server_default=sa.text('50'),
                                           nullable=False))
    # A number was unique over the whole base; it becomes unique within an association.
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_constraint('uq_resident_phone', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_resident_association_id_phone'),
                                          ['association_id', 'phone'])
        batch_op.create_index(batch_op.f('ix_resident_phone'), ['phone'], unique=False)
    # A conversation belongs to the association of its resident (the only one the number had).
    op.add_column('conversation', sa.Column('association_id', sa.Integer(), nullable=True))
    conn = op.get_bind()
    conn.execute(sa.text(
        'UPDATE conversation SET association_id = '
        '(SELECT resident.association_id FROM resident WHERE resident.phone = conversation.phone)'
    ))
    conn.execute(sa.text(
        'UPDATE conversation SET association_id = (SELECT min(id) FROM association) WHERE association_id IS NULL'
    ))
    conn.execute(sa.text('DELETE FROM conversation WHERE association_id IS NULL'))
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.alter_column('association_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('uq_conversation_phone', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_conversation_association_id_phone'),
                                          ['association_id', 'phone'])
        batch_op.create_foreign_key(batch_op.f('fk_conversation_association_id_association'), 'association',
                                    ['association_id'], ['id'])


def downgrade() -> None:
    # Back to one conversation and one resident per number: the later duplicates go.
    conn = op.get_bind()
    conn.execute(sa.text(
        'DELETE FROM conversation WHERE id NOT IN (SELECT min(id) FROM conversation GROUP BY phone)'
    ))
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conversation_association_id_association'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_conversation_association_id_phone'), type_='unique')
        batch_op.create_unique_constraint('uq_conversation_phone', ['phone'])
        batch_op.drop_column('association_id')
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_phone'))
        batch_op.drop_constraint(batch_op.f('uq_resident_association_id_phone'), type_='unique')
        batch_op.create_unique_constraint('uq_resident_phone', ['phone'])
    op.drop_column('association', 'road_speed_kmh')
    op.drop_column('association', 'departements')
