"""S40: secrets marked sensitive appear in no rendering, export or repr unless revealed."""

from __future__ import annotations

import base64
import json

import pytest

from mailwire.transcript import Direction, Kind, Transcript

from .helpers import PASSWORD, PLAIN_TOKEN, every_output, smtp_starttls_session

USER = "alice"


def forms_of(secret: bytes) -> list[str]:
    """The ways a secret could leak into text: itself, base64, hex, Python repr."""
    return [
        secret.decode("latin-1"),
        base64.b64encode(secret).decode(),
        secret.hex(),
        secret.hex(" "),
        repr(secret)[2:-1],
    ]


def leaks(outputs: dict[str, str], secrets: list[bytes]) -> list[tuple[str, str]]:
    return [
        (name, form)
        for name, text in outputs.items()
        for secret in secrets
        for form in forms_of(secret)
        if form and form in text
    ]


def sessions() -> dict[str, tuple[Transcript, list[bytes]]]:
    """Each way a secret goes on the wire (S40), with what must not leak."""
    plain = f"\0{USER}\0{PASSWORD}".encode()
    token = base64.b64encode(plain)
    user64 = base64.b64encode(USER.encode())
    pw64 = base64.b64encode(PASSWORD.encode())
    bearer = b"n,a=alice@example.org,\x01auth=Bearer ya29.TOKEN-xyz\x01\x01"
    bearer64 = base64.b64encode(bearer)
    secret_sets = [PASSWORD.encode(), plain, token, bearer, bearer64, b"ya29.TOKEN-xyz"]
    out: dict[str, tuple[Transcript, list[bytes]]] = {}

    t = Transcript(keep_secrets=True)
    t.sent(b"AUTH PLAIN " + token + b"\r\n", secrets=((11, 11 + len(token)),))
    out["smtp-plain-initial"] = (t, secret_sets)

    t = Transcript(keep_secrets=True)
    t.sent(b"AUTH PLAIN\r\n")
    t.received(b"334 \r\n")
    t.sent(token + b"\r\n", secrets=((0, len(token)),))
    out["smtp-plain-continuation"] = (t, secret_sets)

    t = Transcript(keep_secrets=True)
    t.sent(b"AUTH LOGIN\r\n")
    t.received(b"334 VXNlcm5hbWU6\r\n")
    t.sent(user64 + b"\r\n")
    t.received(b"334 UGFzc3dvcmQ6\r\n")
    t.sent(pw64 + b"\r\n", secrets=((0, len(pw64)),))
    out["smtp-login"] = (t, [*secret_sets, pw64])

    t = Transcript(keep_secrets=True)
    t.sent(b"AUTH OAUTHBEARER " + bearer64 + b"\r\n", secrets=((17, 17 + len(bearer64)),))
    out["oauthbearer"] = (t, secret_sets)

    t = Transcript(keep_secrets=True)
    line = f'a1 LOGIN alice "{PASSWORD}"\r\n'.encode()
    start = line.index(PASSWORD.encode())
    t.sent(line, secrets=((start, start + len(PASSWORD)),))
    out["imap-login-quoted"] = (t, secret_sets)

    t = Transcript(keep_secrets=True)
    t.sent(f"a1 LOGIN alice {{{len(PASSWORD)}}}\r\n".encode())
    t.received(b"+ go ahead\r\n")
    t.sent(PASSWORD.encode() + b"\r\n", secrets=((0, len(PASSWORD)),))
    out["imap-login-literal"] = (t, secret_sets)

    t = Transcript(keep_secrets=True)
    t.sent(b"USER alice\r\n")
    t.sent(f"PASS {PASSWORD}\r\n".encode(), secrets=((5, 5 + len(PASSWORD)),))
    out["pop3-pass"] = (t, secret_sets)

    digest = b"c4c9334bac560ecc979e58001b3e22fb"
    t = Transcript(keep_secrets=True)
    t.sent(b"APOP alice " + digest + b"\r\n", secrets=((11, 11 + len(digest)),))
    out["pop3-apop"] = (t, [*secret_sets, digest])
    return out


@pytest.mark.parametrize("name", list(sessions()))
def test_no_secret_in_any_output(name: str) -> None:
    transcript, secrets = sessions()[name]
    assert leaks(every_output(transcript), secrets) == []
    loaded = Transcript.loads(transcript.render())
    assert leaks(every_output(loaded, reveal_secrets=True), secrets) == []
    loaded = Transcript.loads(transcript.to_jsonl())
    assert leaks(every_output(loaded, reveal_secrets=True), secrets) == []


def test_auth_plain_is_shown_redacted_in_every_style() -> None:
    t = smtp_starttls_session()
    outputs = every_output(t)
    assert "C*: AUTH PLAIN <redacted 28 bytes>\n" in outputs["text"]
    assert "C*: AUTH PLAIN <redacted 28 bytes>\n" in outputs["annotated"]
    assert "<redacted 28 bytes>" in outputs["raw"]
    assert "<redacted 28 bytes>" in outputs["repr"]
    assert leaks(outputs, [PLAIN_TOKEN.encode(), PASSWORD.encode()]) == []
    row = next(
        json.loads(line) for line in outputs["jsonl"].splitlines() if '"sensitive": true' in line
    )
    assert (row["data"], row["text"], row["size"]) == (None, None, 28)


def test_revealed_only_when_asked() -> None:
    t = smtp_starttls_session()
    assert f"C*: AUTH PLAIN <secret {PLAIN_TOKEN}>\n" in t.render(reveal_secrets=True)
    assert PLAIN_TOKEN in t.render("annotated", reveal_secrets=True)
    assert PLAIN_TOKEN.encode().hex() in t.render("raw", reveal_secrets=True)
    assert base64.b64encode(PLAIN_TOKEN.encode()).decode() in t.to_jsonl(reveal_secrets=True)


def test_redacted_secret_loads_back_sensitive_with_its_size_and_no_data() -> None:
    loaded = Transcript.loads(smtp_starttls_session().render())
    secret = [record for record in loaded.records if record.sensitive]
    assert [(r.data, r.size, r.tls, r.direction) for r in secret] == [
        (b"", 28, True, Direction.CLIENT)
    ]
    assert b"AUTH PLAIN \r\n" in loaded.client_bytes()


def test_revealed_secret_loads_back_sensitive_with_its_bytes() -> None:
    t = smtp_starttls_session()
    loaded = Transcript.loads(t.render(reveal_secrets=True))
    secret = [record for record in loaded.records if record.sensitive]
    assert [r.data for r in secret] == [PLAIN_TOKEN.encode()]
    assert loaded.client_bytes() == t.client_bytes()
    # and once loaded, it is redacted again by default
    assert PLAIN_TOKEN not in loaded.render()


def test_secret_with_awkward_bytes_is_revealed_exactly() -> None:
    t = Transcript(keep_secrets=True)
    secret = b"p<a>s\\s\r\n\x00\xff"
    t.sent(b"PASS " + secret + b"\r\n", secrets=((5, 5 + len(secret)),))
    rendered = t.render(reveal_secrets=True)
    assert "C: PASS <secret p\\x3ca\\x3es\\\\s\\r\\n\\x00\\xff>\n" in rendered
    assert Transcript.loads(rendered).client_bytes() == t.client_bytes()


def test_sensitive_non_data_record_is_redacted_in_raw_and_jsonl() -> None:
    t = Transcript(keep_secrets=True)
    t.add(Kind.EVENT, data=PASSWORD.encode(), sensitive=True, note="sasl step")
    assert leaks(every_output(t), [PASSWORD.encode()]) == []


def test_record_repr_hides_secret() -> None:
    t = Transcript(keep_secrets=True)
    t.sent(f"PASS {PASSWORD}\r\n".encode(), secrets=((5, 5 + len(PASSWORD)),))
    assert PASSWORD not in repr(t.records)
    assert f"<redacted {len(PASSWORD)} bytes>" in repr(t.records[1])


def test_secrets_are_not_stored_by_default() -> None:
    """S40: without keep_secrets the secret bytes never enter the transcript."""
    import dataclasses

    t = Transcript()
    t.sent(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", secrets=((11, 31),))
    secret = b"AGFsaWNlAHNlY3JldA=="
    assert all(secret not in r.data for r in t.records)
    assert all(secret not in repr(dataclasses.asdict(r)).encode() for r in t.records)
    (hidden,) = [r for r in t.records if r.sensitive]
    assert hidden.size == len(secret)
    for reveal in (False, True):
        assert "AGFsaWNl" not in t.render(reveal_secrets=reveal)
        assert "AGFsaWNl" not in t.to_jsonl(reveal_secrets=reveal)
    assert "<redacted 20 bytes>" in t.render()
