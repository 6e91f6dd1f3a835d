"""Each association's texts leave from its own number: the resident's answer comes back to it."""

from __future__ import annotations

from support.factories import add_association
from support.sendkit import SENDER, phone

from carpool.notify import outbox
from carpool.notify.dispatcher import dispatch_once

BASE = "https://covoiturage.example.org"


def test_a_text_leaves_from_its_associations_number_or_the_default_sender(db, twilio, fake_twilio, clock):
    with db.session() as session:
        lot = add_association(session, "Lot Mobilité", sms_number="06 39 98 00 00")
        town = add_association(session, "Val-d'Oise Solidarité", sms_number="06 39 98 00 95")
        silent = add_association(session, "Sans numéro", sms_number=None)
        for n, association in enumerate((lot, town, silent)):
            outbox.enqueue(session, f"k:{n}", phone(n), f"Bonjour n°{n}", association_id=association.id)
        outbox.enqueue(session, "k:none", phone(9), "Sans association")

    report = dispatch_once(db, twilio, clock, public_base_url=BASE)

    senders = {m["body"]: m["from"] for m in fake_twilio.messages}
    assert report.sent == 4
    assert senders == {
        "Bonjour n°0": "+33639980000",
        "Bonjour n°1": "+33639980095",
        "Bonjour n°2": SENDER,
        "Sans association": SENDER,
    }
