"""One driver account per phone number, guarded by a unique index

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 11:30:00

The phone line, the SMS path and masking find a driver by their number: two drivers with one
number make them guess. Existing duplicates are never merged or deleted here (which one is the
person's account is a coordinator's call): the upgrade stops, names them and changes nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from carpool.errors import StartupError

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    refuse_duplicates(op.get_bind())
    with op.batch_alter_table('driver', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_driver_phone'), ['phone'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('driver', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_driver_phone'))


def refuse_duplicates(conn: sa.Connection) -> None:
    """Stop, before any change, when some number belongs to several drivers."""
    rows = conn.execute(sa.text(
        "SELECT phone, id FROM driver WHERE phone IN "
        "(SELECT phone FROM driver GROUP BY phone HAVING count(*) > 1) ORDER BY phone, id"
    )).all()
    if not rows:
        return
    by_phone: dict[str, list[str]] = {}
    for phone, driver_id in rows:
        by_phone.setdefault(phone, []).append(str(driver_id))
    found = " ; ".join(f"{phone} : conducteurs {', '.join(ids)}" for phone, ids in by_phone.items())
    raise StartupError(
        f"plusieurs conducteurs ont le même numéro ({found}) : choisissez avec un coordinateur le compte "
        "qui le garde, changez le numéro des autres (table driver) puis relancez « carpool db upgrade » ; "
        "rien n'a été modifié."
    )
