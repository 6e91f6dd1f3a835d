"""The two exceptions every layer shares, in a module that imports nothing.

Services raise them, and each boundary translates them once: a form message, a JSON
problem, a CLI line, an SMS text. Living here rather than in ``config`` or a service
module, they let any module raise them without importing its way into a cycle.
"""

from __future__ import annotations


class StartupError(RuntimeError):
    """A problem a person must fix before the app can start: one clear French sentence."""


class InvalidInput(ValueError):
    """Field name → a plain-French message; the boundary shows each next to its field.

    The key ``""`` holds a message about the whole form.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(
            "; ".join(f"{field}: {message}" if field else message for field, message in errors.items())
        )

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        return cls({field: message})
