"""smtp.replay: a recorded session re-fed through a fresh core, step by step."""

from __future__ import annotations

import base64
import pathlib

from mailwire import TLSMode, Transcript, smtp
from mailwire.smtp import State
from mailwire.transcript import Direction
from tests.lab import SmtpLab
from tests.lab.accounts import ALICE

MESSAGE = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: hi\r\n\r\n.dot\r\nend\r\n"


def record(lab: SmtpLab) -> Transcript:
    with smtp.Client(
        lab.host, lab.starttls_port, tls=TLSMode.STARTTLS, ssl_context=lab.client_context()
    ) as client:
        client.login(ALICE.name, ALICE.password)
        client.send_message(MESSAGE)
    return client.transcript


def test_a_live_session_replays_without_difference(
    smtp_lab: SmtpLab, tmp_path: pathlib.Path
) -> None:
    live = record(smtp_lab)
    for saved in (live.render(), live.to_jsonl()):
        path = tmp_path / "session"
        path.write_text(saved)
        steps = list(smtp.replay(Transcript.load(path)))
        assert steps, "no steps"
        assert all(step.mismatch is None for step in steps), [s for s in steps if s.mismatch]
        assert not any("refuses" in step.explanation for step in steps)
        assert not any("Error" in step.explanation for step in steps)
        assert steps[-1].after is State.CLOSED
        verbs = [type(s.event).__name__ for s in steps if s.direction is Direction.CLIENT]
        assert verbs[:3] == ["Ehlo", "StartTLS", "Ehlo"]
        assert {"Auth", "MailFrom", "RcptTo", "Data", "Content", "EndOfData", "Quit"} <= set(verbs)
        shown = "\n".join(map(str, steps))
        assert ALICE.password not in shown
        payload = base64.b64encode(f"\0{ALICE.name}\0{ALICE.password}".encode()).decode()
        assert payload not in shown
        # The dot-stuffed line is shown as it crossed the wire.
        assert "..dot" in shown


def test_a_difference_from_our_writer_is_a_step() -> None:
    text = "\n".join(
        [
            "S: 220 mx.example ESMTP",
            "C: EHLO client.example",
            "S: 250 mx.example",
            "C: mail from:<a@example.test>",
            "S: 250 ok",
            "",
        ]
    )
    steps = list(smtp.replay(Transcript.loads(text)))
    mail = next(s for s in steps if type(s.event).__name__ == "MailFrom")
    assert mail.wire == b"mail from:<a@example.test>\r\n"
    assert mail.mismatch == b"MAIL FROM:<a@example.test>\r\n"  # RFC 5321 §4.1.1.2 spelling
    assert "our writer would send" in str(mail)
    assert steps[-1].explanation.startswith("250 to MAIL FROM")


def test_lmtp_is_recognised() -> None:
    text = "S: 220 lmtp\nC: LHLO me.example\nS: 250 lmtp.example\n"
    steps = list(smtp.replay(Transcript.loads(text)))
    assert steps[-1].after is State.READY
    assert type(steps[1].event).__name__ == "Lhlo"
