"""EHLO replies parsed into capabilities (RFC 5321 §4.1.1.1, and each extension's RFC).

The real replies are MailKit's recorded Comcast EHLO answers
(``shared/corpora/mailkit/UnitTests/Net/Smtp/Resources/*ehlo*.txt``, LF made
CRLF); the expected keyword sets below are read off those files by hand.
"""

from __future__ import annotations

import pytest

from mailwire.smtp import Capabilities, Ehlo, Reply

from .helpers import RESOURCES, exchange, greeted, resource, rfc_text

COMCAST = "omta06.westchester.pa.mail.comcast.net"
BASE = {
    "HELP": (),
    "AUTH": ("LOGIN", "PLAIN"),
    "SIZE": ("36700160",),
    "ENHANCEDSTATUSCODES": (),
    "8BITMIME": (),
    "STARTTLS": (),
}
EXPECTED: dict[str, dict[str, tuple[str, ...]]] = {
    "comcast-ehlo.txt": BASE,
    "comcast-ehlo+binarymime.txt": {**BASE, "BINARYMIME": (), "CHUNKING": ()},
    "comcast-ehlo+digest-md5.txt": {**BASE, "AUTH": ("LOGIN", "PLAIN", "DIGEST-MD5")},
    "comcast-ehlo+dsn.txt": {**BASE, "PIPELINING": (), "DSN": ()},
    "comcast-ehlo+pipelining.txt": {**BASE, "PIPELINING": ()},
    "comcast-ehlo+requiretls.txt": {**BASE, "REQUIRETLS": ()},
    "comcast-ehlo+smtputf8.txt": {**BASE, "SMTPUTF8": ()},
    "comcast-ehlo+x-exps.txt": {
        **{k: v for k, v in BASE.items() if k != "AUTH"},
        "X-EXPS": ("LOGIN", "PLAIN"),
    },
}


def test_every_ehlo_file_is_covered() -> None:
    names = {p.name for p in RESOURCES.glob("*ehlo*.txt")} - {"ehlo-failed.txt"}
    assert names == set(EXPECTED)


def parse(data: bytes) -> Capabilities:
    """Through the connection, as a session would see it."""
    conn = greeted()
    (reply,) = exchange(conn, Ehlo("client.example"), data)
    assert reply.code == 250
    assert conn.capabilities is not None
    return conn.capabilities


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_ehlo(name: str) -> None:
    caps = parse(resource(name))
    assert caps.domain == COMCAST
    assert caps.esmtp
    assert dict(caps.keywords) == EXPECTED[name]
    # The typed views agree with the keyword table.
    assert caps.size == 36_700_160
    assert caps.auth == EXPECTED[name].get("AUTH", ())
    assert caps.pipelining == ("PIPELINING" in EXPECTED[name])
    assert caps.chunking == ("CHUNKING" in EXPECTED[name])
    assert caps.binarymime == ("BINARYMIME" in EXPECTED[name])
    assert caps.dsn == ("DSN" in EXPECTED[name])
    assert caps.smtputf8 == ("SMTPUTF8" in EXPECTED[name])
    assert caps.requiretls == ("REQUIRETLS" in EXPECTED[name])
    assert caps.eightbitmime
    assert caps.starttls
    assert caps.enhanced_status_codes
    assert caps.mt_priority is None


def test_x_exps_is_not_auth() -> None:
    """MailKit's X-EXPS file: a private keyword, not an AUTH offer."""
    caps = parse(resource("comcast-ehlo+x-exps.txt"))
    assert caps.auth == ()
    assert "x-exps" in caps
    assert caps.params("X-EXPS") == ("LOGIN", "PLAIN")


def test_helo_reply() -> None:
    conn = greeted()
    exchange(conn, Ehlo("client.example"), resource("ehlo-failed.txt"))
    assert conn.capabilities is None
    caps = Capabilities.helo(Reply(250, [f"{COMCAST} hello [127.0.0.1], pleased to meet you"]))
    assert (caps.domain, dict(caps.keywords), caps.esmtp) == (COMCAST, {}, False)
    assert not caps.pipelining
    assert caps.size is None


# ------------------------------------------------ §4.1.1.1 syntax, by hand


def caps_of(*lines: str) -> Capabilities:
    return Capabilities.from_reply(Reply(250, list(lines)))


def test_rfc5321_ehlo_grammar_is_quoted() -> None:
    text = rfc_text("5321")
    assert 'ehlo-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")' in text


def test_keywords_are_case_insensitive() -> None:
    """§2.4: "Verbs and argument values ... are not case sensitive"; kept upper-case."""
    caps = caps_of("mx", "pipelining", "Size 100", "auth plain Login")
    assert set(caps.keywords) == {"PIPELINING", "SIZE", "AUTH"}
    assert "Pipelining" in caps
    assert caps.size == 100
    assert caps.auth == ("PLAIN", "LOGIN")


def test_old_auth_equals_form() -> None:
    """Pre-standard servers wrote AUTH=LOGIN PLAIN (RFC 2554 drafts); both lines merge."""
    caps = caps_of("mx", "AUTH=LOGIN PLAIN", "AUTH LOGIN PLAIN CRAM-MD5")
    assert caps.auth == ("LOGIN", "PLAIN", "CRAM-MD5")
    assert caps_of("mx", "AUTH=PLAIN").auth == ("PLAIN",)


def test_lines_that_are_not_keywords_are_ignored() -> None:
    caps = caps_of("mx", "", "   ", "-BAD", "Ünïcode", "GOOD-1 x", "_x", "8BITMIME")
    assert set(caps.keywords) == {"GOOD-1", "8BITMIME"}


def test_parameters_kept_as_sent() -> None:
    caps = caps_of("mx", "XCLIENT NAME ADDR PROTO", "ETRN", "DELIVERBY 300")
    assert caps.params("xclient") == ("NAME", "ADDR", "PROTO")
    assert caps.params("ETRN") == ()
    assert caps.params("absent") == ()


def test_first_line_names_the_server() -> None:
    assert caps_of("mx.example.org greets you").domain == "mx.example.org"
    assert caps_of("").domain == ""
    assert dict(caps_of("only a greeting").keywords) == {}


def test_non_string_is_not_contained() -> None:
    assert 250 not in caps_of("mx", "SIZE")


def test_binarymime_needs_chunking() -> None:
    """RFC 3030 §3: "The BINARYMIME service extension can only be used with the CHUNKING"."""
    assert "can only be used with the" in rfc_text("3030")
    assert not caps_of("mx", "BINARYMIME").binarymime
    assert caps_of("mx", "BINARYMIME", "CHUNKING").binarymime


def test_smtputf8_parameters_are_ignored() -> None:
    """RFC 6531 §3.1 (3): "The SMTPUTF8-aware SMTP client MUST ignore any parameters"."""
    assert caps_of("mx", "SMTPUTF8 future-thing").smtputf8


def test_mt_priority() -> None:
    """RFC 6710: MT-PRIORITY [policy]."""
    assert caps_of("mx", "MT-PRIORITY MIXER").mt_priority == "MIXER"
    assert caps_of("mx", "MT-PRIORITY STANAG4406").mt_priority == "STANAG4406"
    assert caps_of("mx").mt_priority is None


def test_capabilities_are_frozen() -> None:
    caps = caps_of("mx", "SIZE 1")
    with pytest.raises(AttributeError):
        caps.domain = "other"  # type: ignore[misc]
