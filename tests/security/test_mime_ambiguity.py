"""S42-S46: ambiguous messages get one deterministic reading and a defect;
strict mode raises (security.md section (g))."""

from __future__ import annotations

import pytest

from mailwire import mime
from mailwire.mime.address import parse_address_list


def _codes(entity: mime.Entity) -> list[str]:
    return [d.code for d in entity.defects]


# ------------------------------------------------------------------ S42 --


@pytest.mark.parametrize(
    "field",
    ["From", "Subject", "Date", "Content-Type", "Content-Transfer-Encoding", "MIME-Version"],
)
def test_s42_duplicate_singletons(field: str) -> None:
    raw = f"{field}: first\r\n{field}: second\r\n\r\nbody".encode()
    with pytest.raises(mime.DuplicateHeaderError):
        mime.parse(raw, strict=True)
    message = mime.parse(raw)
    assert "duplicate-header" in _codes(message)
    with pytest.raises(mime.DuplicateHeaderError):
        message.headers.get(field)
    assert message.headers.get_all(field) == ["first", "second"]


def test_s42_the_first_content_type_decides_the_structure() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\nContent-Type: text/html\r\n\r\n"
        b"--x\r\n\r\npart\r\n--x--\r\n"
    )
    message = mime.parse(raw)
    assert message.content_type == "multipart/mixed"
    assert [p.content() for p in message.parts] == [b"part"]


def test_s42_the_builder_refuses_a_second_from() -> None:
    message = mime.Message(sender="a@example.org")
    for field in ("From", "from", "Subject", "Content-Type", "Bcc"):
        with pytest.raises(ValueError):
            message.add_header(field, "b@example.org")


# ------------------------------------------------------------------ S43 --

CASES_S43 = {
    "two boundary parameters": (
        b'Content-Type: multipart/mixed; boundary="a"; boundary="b"\r\n\r\n'
        b"--a\r\n\r\nA\r\n--a--\r\n--b\r\n\r\nB\r\n--b--\r\n",
        [b"A"],  # the first one (RFC 2045 §5.1 has no second)
        "duplicate-parameter",
    ),
    "boundary*0 and boundary": (
        b'Content-Type: multipart/mixed; boundary*0="a"; boundary="b"\r\n\r\n'
        b"--a\r\n\r\nA\r\n--a--\r\n--b\r\n\r\nB\r\n--b--\r\n",
        [b"A"],  # the RFC 2231 form wins (RFC 2231 §4)
        "duplicate-parameter",
    ),
    "inner boundary B10 under B1": (
        b"Content-Type: multipart/mixed; boundary=B1\r\n\r\n"
        b"--B1\r\nContent-Type: multipart/mixed; boundary=B10\r\n\r\n"
        b"--B10\r\n\r\ninner\r\n--B10--\r\n--B1--\r\n",
        [b"--B10\r\n\r\ninner\r\n--B10--"],  # only whole delimiter lines count
        "boundary-prefix",
    ),
    "missing close delimiter": (
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nA\r\n--a\r\n\r\nB\r\n",
        [b"A", b"B\r\n"],  # the last part runs to the end
        "missing-close-delimiter",
    ),
}


@pytest.mark.parametrize("case", list(CASES_S43))
def test_s43_boundary_ambiguity(case: str) -> None:
    raw, bodies, code = CASES_S43[case]
    message = mime.parse(raw)
    assert [part.body_bytes for part in message.parts] == bodies
    assert code in _codes(message)
    with pytest.raises(mime.MIMEDefectError):
        mime.parse(raw, strict=True)


def test_s43_inner_b10_is_still_split_inside() -> None:
    raw, _, _ = CASES_S43["inner boundary B10 under B1"]
    [inner] = mime.parse(raw).parts
    assert [p.content() for p in inner.parts] == [b"inner"]


def test_s43_reused_boundary_is_reported() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a--\r\n"
    )
    message = mime.parse(raw)
    assert message.parts[0].is_multipart
    assert "reused-boundary" in _codes(message.parts[0])


# ------------------------------------------------------------------ S44 --


def test_s44_encoding_on_a_multipart_is_ignored() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=a\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"--a\r\n\r\nA\r\n--a--\r\n"
    )
    message = mime.parse(raw)
    assert [p.content() for p in message.parts] == [b"A"]
    assert "encoded-multipart" in _codes(message)  # RFC 2045 §6.4


def test_s44_two_different_encodings() -> None:
    raw = (
        b"Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        b"\r\naGk=\r\n"
    )
    message = mime.parse(raw)
    assert message.content() == b"hi"  # the first
    assert "duplicate-header" in _codes(message)
    with pytest.raises(mime.DuplicateHeaderError):
        mime.parse(raw, strict=True)


def test_s44_unknown_encoding_and_broken_base64() -> None:
    unknown = mime.parse(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-foo\r\n\r\nx")
    assert unknown.content_type == "application/octet-stream"  # RFC 2049 §2
    assert unknown.content() == b"x"
    junk = mime.parse(b"Content-Transfer-Encoding: base64\r\n\r\naGVs!!bG8")
    assert junk.content() == b"hello"
    assert {"base64-junk", "base64-padding"} <= set(_codes(junk))
    with pytest.raises(mime.MIMEDefectError):
        mime.parse(b"Content-Transfer-Encoding: base64\r\n\r\naGVs!!bG8", strict=True)


def test_s44_the_builder_encodes_only_leaves() -> None:
    message = mime.Message(sender="a@example.org", text="t", html="<b>é</b>")
    message.attach(b"\0\1", filename="x.bin")
    message.attach(b"Subject: fwd\r\n\r\nbody\r\n", content_type="message/rfc822")
    for entity in mime.parse(bytes(message)).walk():
        if entity.is_multipart:
            assert "content-transfer-encoding" not in entity.headers
        if entity.content_type == "message/rfc822":
            assert entity.transfer_encoding in {"7bit", "8bit", "binary"}


# ------------------------------------------------------------------ S45 --


def test_s45_an_encoded_display_name_is_never_an_address() -> None:
    raw = b"From: =?utf-8?q?ceo=40bank.example?= <evil@attacker.example>\r\n\r\n"
    message = mime.parse(raw)
    [author] = message.addresses("from")
    assert author.addr_spec == "evil@attacker.example"
    assert author.name == "ceo@bank.example"
    shown = message.headers.get("from")
    assert shown == '"ceo@bank.example" <evil@attacker.example>'
    assert parse_address_list(shown) == [author]  # reading the text again: same mailbox


def test_s45_encoded_word_in_an_addr_spec() -> None:
    raw = b"To: =?utf-8?q?a=40b?=c@host\r\n\r\n"
    with pytest.raises(mime.MIMEDefectError):
        mime.parse(raw, strict=True)
    message = mime.parse(raw)
    [address] = message.addresses("to")
    assert address.addr_spec == "=?utf-8?q?a=40b?=c@host"  # never decoded (RFC 2047 §5)
    assert "encoded-word-in-addr-spec" in _codes(message)


def test_s45_rebuilding_keeps_specials_encoded_or_quoted() -> None:
    source = mime.parse(b"From: =?utf-8?q?ceo=40bank.example?= <evil@attacker.example>\r\n\r\n")
    [author] = source.addresses("from")
    literal = mime.Address("=?utf-8?q?ceo=40bank.example?=", "x@y.example")
    rebuilt = mime.parse(bytes(mime.Message(sender="a@example.org", to=[author, literal])))
    assert [(a.name, a.addr_spec) for a in rebuilt.addresses("to")] == [
        ("ceo@bank.example", "evil@attacker.example"),
        ("=?utf-8?q?ceo=40bank.example?=", "x@y.example"),
    ]


# ------------------------------------------------------------------ S46 --

# The CVE-2023-27043 inputs (gh-102988) and the security.md list. Each is not
# an RFC 5322 address list, so strict parsing fails and tolerant parsing
# drops the entry; none may yield bob, which is the differential attack.
MALFORMED = [
    "alice@example.org(<bob@example.com>",
    "alice@example.org)<bob@example.com>",
    "alice@example.org<<bob@example.com>",
    "alice@example.org><bob@example.com>",
    "alice@example.org@<bob@example.com>",
    "alice@example.org;<bob@example.com>",
    "alice@example.org:<bob@example.com>",
    "alice@example.org.<bob@example.com>",
    'alice@example.org"<bob@example.com>',
    "alice@example.org[<bob@example.com>",
    "alice@example.org]<bob@example.com>",
    "alice@example.org]<bob@x>",
    "a@b@c",
    "<a@b>c@d",
    "user@exa\u200bmple.com",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_s46_malformed_lists(text: str) -> None:
    with pytest.raises(mime.MIMEDefectError):
        parse_address_list(text, strict=True)
    defects: list[mime.Defect] = []
    assert parse_address_list(text, defects=defects) == []
    assert [d.code for d in defects] == ["invalid-address"]


def test_s46_the_valid_neighbours() -> None:
    # A comma makes two mailboxes; a quoted name may look like an address.
    assert [a.addr_spec for a in parse_address_list("alice@example.org,<bob@example.com>")] == [
        "alice@example.org",
        "bob@example.com",
    ]
    assert parse_address_list('"a@b" <c@d>', strict=True) == [mime.Address("a@b", "c@d")]
    with pytest.raises(ValueError):
        mime.Message(sender="user@exa\u200bmple.com")
