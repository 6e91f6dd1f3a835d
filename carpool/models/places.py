"""Where people live and go: communes of the gazetteer and named places."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.db import point_type
from carpool.gazetteer import departement_of
from carpool.models.base import Base, Timestamped


class Commune(Base):
    """A French commune, keyed by its INSEE code (not the postcode, which is shared)."""

    __tablename__ = "commune"

    insee: Mapped[str] = mapped_column(sa.String(5), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), index=True)
    postcode: Mapped[str] = mapped_column(sa.String(5), index=True)
    population: Mapped[int]
    point: Mapped[Any] = mapped_column(point_type())

    @property
    def departement(self) -> str:
        return departement_of(self.insee)


class NamedPlace(Timestamped, Base):
    """A destination people name in their own words: 'l'hôpital de Cahors', 'le marché'."""

    __tablename__ = "named_place"
    __table_args__ = (sa.UniqueConstraint("association_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int | None] = mapped_column(sa.ForeignKey("association.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    kind: Mapped[str] = mapped_column(sa.String(40))
    commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"), index=True)
    point: Mapped[Any] = mapped_column(point_type())
    # Archived places keep their past trips but are no longer offered.
    archived_at: Mapped[datetime | None]
