"""Schemathesis against /api/v1/openapi.json, on the WSGI app itself (no network, no server).

Valid requests (as the document describes them) must get answers the document describes;
invalid ones a 4xx, never a 500. Bounded: a few dozen examples per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

POSITIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [not_a_server_error, content_type_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 12}


@pytest.fixture
def api_schema(app, world):
    """The document the app serves; ``world`` gives the driver an offer, a passenger, an absence."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def run_operation(operation, mode: GenerationMode, headers: dict[str, str]) -> int:
    """Fuzz one operation; returns how many requests were sent (a failure raises)."""
    checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    sent = 0

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case) -> None:  # type: ignore[no-untyped-def]
        nonlocal sent
        sent += 1
        case.call_and_validate(headers=headers, checks=checks)

    fuzz()
    return sent


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_the_api_keeps_to_its_openapi_document(api_schema, api_headers, mode):
    failures, sent = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        try:
            sent += run_operation(operation, mode, api_headers)
        except Exception as error:  # gather every operation's failure, then report
            failures.append(f"{operation.label}: {str(error)[:1500]}")
    assert sent > 100
    assert failures == [], "\n\n".join(failures)
