"""Route discovery and HTML form reading for the security tests (plain functions).

Routes come from ``app.url_map``, so a page or form added later is covered without
touching these tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from flask import Flask

#: Areas and the role that may see them.
DRIVER_PREFIX, COORD_PREFIX = "/conducteurs", "/coordination"
#: Pages whose GET does something else than show a page (log-out is POST only anyway).
NOT_PAGES = {"static"}


def rules(app: Flask, prefix: str, method: str) -> list:
    """The URL rules under ``prefix`` answering ``method``, in a stable order."""
    found = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix) and method in (rule.methods or ()) and rule.endpoint not in NOT_PAGES
    ]
    return sorted(found, key=lambda rule: rule.rule)


def url_for_rule(app: Flask, rule, values: dict) -> str:  # type: ignore[no-untyped-def]
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments})


@dataclass
class Form:
    """One ``<form>`` of a page: where it goes and what it sends."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # name → kind (text, hidden, select…)
    defaults: dict[str, str] = field(default_factory=dict)  # name → first value seen

    TEXT_KINDS = frozenset(
        {"text", "email", "tel", "search", "textarea", "password", "url", "number", "date", "time", "month"}
    )

    def text_fields(self) -> list[str]:
        return [name for name, kind in self.fields.items() if kind in self.TEXT_KINDS]


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url, self.forms, self.current = page_url, [], None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            action = a.get("action") or self.page_url
            self.current = Form(action=action.split("#")[0], method=(a.get("method") or "get").lower())
            self.forms.append(self.current)
        elif self.current is None or not a.get("name"):
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in {"submit", "button", "reset", "image", "file"}:
                return
            self.current.fields.setdefault(a["name"], kind)
            if kind not in {"checkbox", "radio"} or "checked" in a:
                self.current.defaults.setdefault(
                    a["name"], a.get("value", "on" if kind == "checkbox" else "")
                )
        elif tag == "textarea":
            self.current.fields.setdefault(a["name"], "textarea")
        elif tag == "select":
            self.current.fields.setdefault(a["name"], "select")
            self.select = a["name"]
        elif tag == "option" and self.select and self.select not in self.current.defaults:
            self.current.defaults[self.select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def forms_of(html: str, page_url: str) -> list[Form]:
    parser = _FormParser(page_url)
    parser.feed(html)
    return parser.forms
