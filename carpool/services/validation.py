"""The one exception services raise for input a person must correct."""

from __future__ import annotations


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
