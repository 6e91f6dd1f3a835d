"""Declarative base shared by every aggregate's models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from carpool.clock import utcnow
from carpool.db import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}  # noqa: RUF012


class Timestamped:
    """Creation time, set by the application in UTC."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def enum_column(enum_cls: type, **kwargs: Any) -> Any:
    """Store an enum by its value as a plain string with a CHECK, portable across backends."""
    return mapped_column(
        sa.Enum(
            enum_cls,
            native_enum=False,
            create_constraint=True,
            length=24,
            values_callable=lambda members: [m.value for m in members],
            name=f"{enum_cls.__name__.lower()}",
        ),
        **kwargs,
    )
