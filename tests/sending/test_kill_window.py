"""The kill tests' aim (tests/support/killkit.py): the fake holds an accepted answer until
released, and the process being served is found from its end of the connection."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

from support.killkit import connection_owner
from support.sendkit import make_backend

WAIT = "import sys; sys.stdin.read()"  # a child that lives until its stdin closes


def test_a_held_answer_waits_for_its_release_with_the_message_already_accepted(fake_twilio):
    backend = make_backend(fake_twilio)
    fake_twilio.hold_answers(1)
    answers: list[str] = []
    sender = threading.Thread(target=lambda: answers.append(backend.send("+33639980001", "Bonjour", None)))
    sender.start()

    held = fake_twilio.next_held(timeout=10)
    assert held is not None
    accepted_before_release = [m["sid"] for m in fake_twilio.messages]
    answered_before_release = list(answers)
    held.release()
    sender.join(timeout=10)

    assert (accepted_before_release, answered_before_release) == ([held.sid], [])
    assert answers == [held.sid]


def test_only_the_asked_number_of_answers_is_held(fake_twilio):
    backend = make_backend(fake_twilio)
    fake_twilio.hold_answers(1)
    threading.Thread(target=lambda: backend.send("+33639980001", "Bonjour", None), daemon=True).start()
    held = fake_twilio.next_held(timeout=10)

    second = backend.send("+33639980002", "Bonsoir", None)  # answered at once, not held

    assert held is not None and second != held.sid
    assert fake_twilio.next_held(timeout=0.1) is None
    held.release()


def test_answers_still_held_go_out_when_holding_stops(fake_twilio):
    backend = make_backend(fake_twilio)
    fake_twilio.hold_answers(2)
    answers: list[str] = []
    sender = threading.Thread(target=lambda: answers.append(backend.send("+33639980001", "Bonjour", None)))
    sender.start()
    assert fake_twilio.next_held(timeout=10) is not None

    fake_twilio.stop_holding()
    sender.join(timeout=10)
    backend.send("+33639980002", "Bonsoir", None)  # the second hold was dropped: answered at once

    assert len(answers) == 1
    assert fake_twilio.next_held(timeout=0.1) is None


def test_the_process_holding_a_connection_is_found_from_its_port():
    with socket.create_server(("127.0.0.1", 0)) as server:
        server_port = server.getsockname()[1]
        connect = f"import socket; s = socket.create_connection(('127.0.0.1', {server_port})); {WAIT}"
        client = subprocess.Popen([sys.executable, "-c", connect], stdin=subprocess.PIPE)
        bystander = subprocess.Popen([sys.executable, "-c", WAIT], stdin=subprocess.PIPE)
        try:
            connection, (_, client_port) = server.accept()
            with connection:
                owner = connection_owner([bystander.pid, client.pid], client_port, server_port)
                nobody = connection_owner([bystander.pid], client_port, server_port)
        finally:
            for process in (client, bystander):
                process.communicate(b"")
    assert (owner, nobody) == (client.pid, None)
