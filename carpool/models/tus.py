"""Transport d'utilité sociale (Code des transports L3133-1, R3133-1 to R3133-5): who may be carried.

A resident is eligible by where they live (a rural commune, or a commune of an urban unit
under 12,000 inhabitants) or by their resources (CSS, RSA, ASPA, AAH…). The association
flags the communes of its territory once; each resident's basis, the proof seen and its
renewal date are kept on the resident (``Resident.tus_*``). See docs/law.md.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.clock import utcnow
from carpool.models.base import Base


class TusBasis(enum.Enum):
    """Why a resident may use the service (R3133-1 of the Code des transports)."""

    RURAL = "rural"  # lives in a rural commune
    SMALL_URBAN = "small_urban"  # lives in a commune of an urban unit under 12,000 inhabitants
    RESOURCES = "resources"  # a benefit or resources under the CSS ceiling


class CommuneEligibility(Base):
    """An association's answer for one commune of its territory: do its residents qualify by place?"""

    __tablename__ = "commune_eligibility"
    __table_args__ = (sa.UniqueConstraint("association_id", "commune_insee"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"))
    eligible: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(80), default="")
