"""No phone number in clear in logs or console output; a keyed reference to join lines."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from carpool.notify.privacy import PhoneMaskFilter, install, mask, mask_text, phone_ref


def test_a_french_mobile_keeps_its_kind_and_last_two_digits():
    assert mask("+33612345678") == mask("06 12 34 56 78") == "+33 6 •• •• •• 78"


def test_a_foreign_number_keeps_its_country_prefix_only():
    assert mask("+447700900123") == "+44 •• •• •• 23"


def test_the_reference_is_stable_keyed_and_short():
    a, b = phone_ref("+33612345678", "k1"), phone_ref("06 12 34 56 78", "k1")
    assert a == b and a != phone_ref("+33612345678", "k2") and len(a) == len("tel:") + 10


def test_numbers_in_any_usual_spelling_are_masked_in_text():
    text = "a +33612345678, b 06.12.34.56.79, c 0033 6 12 34 56 70, d 07-12-34-56-71"
    assert (
        mask_text(text)
        == "a +33 6 •• •• •• 78, b +33 6 •• •• •• 79, c +33 6 •• •• •• 70, d +33 7 •• •• •• 71"
    )


def test_sids_ids_and_dates_are_left_alone():
    text = "outbox 1234567890 SM0612345678abcdef 2026-11-23T09:00:00Z tentative 3"
    assert mask_text(text) == text


@given(st.from_regex(r"\A0[67]\d{8}\Z"), st.sampled_from(["", " ", ".", "-"]))
def test_no_middle_digits_survive_masking(number, sep):
    spelled = sep.join(number[i : i + 2] for i in range(0, 10, 2))
    masked = mask_text(f"appel de {spelled} ce matin")
    assert number[2:8] not in masked.replace(" ", "") and "•" in masked


def test_the_log_filter_masks_messages_arguments_and_tracebacks(caplog):
    logger = logging.getLogger("carpool.test.privacy")
    caplog.handler.addFilter(PhoneMaskFilter())
    try:
        raise ValueError("bad number +33612345678")
    except ValueError:
        logger.exception("SMS to %s failed", "+33612345671")
    assert "+33612345678" not in caplog.text and "+33612345671" not in caplog.text
    assert "+33 6 •• •• •• 71" in caplog.text and "+33 6 •• •• •• 78" in caplog.text


def test_install_adds_the_filter_once_to_every_handler():
    logger = logging.getLogger("carpool.test.install")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    install(logger)
    install(logger)
    logger.removeHandler(handler)
    assert sum(isinstance(f, PhoneMaskFilter) for f in handler.filters) == 1
