"""Forms of the coordinators' pages that are not shared with the drivers' ones."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import Length

from carpool.web.forms import BaseForm, required


class TotpForm(BaseForm):
    code = StringField(
        "Code à 6 chiffres",
        [required(), Length(max=12)],
        description="Le code affiché par votre application d'authentification.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class TotpSetupForm(TotpForm):
    pass
