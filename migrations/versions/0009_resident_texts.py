"""Outbox: the resident a text is for; existing texts attributed only where it is safe

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 01:45:00

A resident's data page, export and erasure select texts by resident id (issue 15,
finding 2), no longer by phone number. Existing rows get a resident only when nothing
else can be meant: the same association, the resident's number, no driver of that
association with the same number, and sent or received after the resident was
registered. Inbound rows already attributed to a resident whose number is also a
driver's of the association lose that attribution (they may be the driver's).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def _attributable(table: str, phone: str) -> str:
    """SQL for the one resident a row of ``table`` can safely be said to concern (or NULL)."""
    return f"""
        SELECT r.id FROM resident r
        WHERE r.phone = {table}.{phone}
          AND r.association_id = {table}.association_id
          AND r.created_at <= {table}.created_at
          AND NOT EXISTS (
              SELECT 1 FROM driver d
              WHERE d.phone = r.phone AND d.association_id = r.association_id
          )
    """


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN; SQLite takes the foreign key inline (REFERENCES).
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column(
        'outbound_message',
        sa.Column('resident_id', sa.Integer(),
                  sa.ForeignKey('resident.id', name=op.f('fk_outbound_message_resident_id_resident')),
                  nullable=True),
        inline_references=sqlite,
    )
    op.create_index(op.f('ix_outbound_message_resident_id'), 'outbound_message', ['resident_id'], unique=False)
    outbound = _attributable('outbound_message', 'to_phone')
    op.execute(f"UPDATE outbound_message SET resident_id = ({outbound}) WHERE resident_id IS NULL")
    op.execute(
        """
        UPDATE inbound_message SET resident_id = NULL
        WHERE resident_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM driver d
            WHERE d.phone = inbound_message.from_phone AND d.association_id = inbound_message.association_id
        )
        """
    )
    inbound = _attributable('inbound_message', 'from_phone')
    op.execute(f"UPDATE inbound_message SET resident_id = ({inbound}) WHERE resident_id IS NULL")


def downgrade() -> None:
    # outbound_message holds no geometry: SQLite's batch copy is safe here. The inbound
    # attributions are kept: they are a subset of what the former code selected.
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_message_resident_id'))
        if op.get_bind().dialect.name != 'sqlite':
            batch_op.drop_constraint(batch_op.f('fk_outbound_message_resident_id_resident'), type_='foreignkey')
        batch_op.drop_column('resident_id')
