"""Hypothesis round trips: build then parse gives back the fields, parts and
bytes; parse then serialise of an unmodified message gives back the bytes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailwire import mime
from mailwire.mime._parts import normalize_newlines
from mailwire.mime.address import domain_to_ascii

# Text a caller may put in a header: no CR, LF or NUL (those raise, S19),
# no surrogates; leading and trailing white space is not kept by readers.
header_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"),
    max_size=120,
).filter(lambda s: s == s.strip(" \t") and "\x85" not in s and "\u2028" not in s)
body_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=3000
)
local = st.from_regex(r"[a-z0-9](?:[a-z0-9._+-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda s: ".." not in s
)
label = st.sampled_from(["example", "mail", "bücher", "straße", "日本", "x-y"])
domain = st.builds(lambda a, b: f"{a}.{b}", label, st.sampled_from(["org", "net", "test"]))
names = st.one_of(
    st.just(""),
    header_text,
    st.sampled_from(["Evil, Inc.", 'a"b', "x <y@z>", "=?utf-8?q?a=40b?=", "Jörg Müller"]),
)
mailbox = st.tuples(names, st.builds(lambda lp, d: f"{lp}@{d}", local, domain))
transports = st.sampled_from(
    [{}, {"eight_bit": True}, {"binary": True}, {"utf8_headers": True, "eight_bit": True}]
)
files = st.lists(
    st.tuples(st.binary(max_size=2000), header_text.filter(bool), st.booleans()), max_size=3
)


def _expected_spec(spec: str, utf8: bool) -> str:
    local_part, _, host = spec.rpartition("@")
    return spec if utf8 else f"{local_part}@{domain_to_ascii(host)}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sender=mailbox,
    to=st.lists(mailbox, min_size=1, max_size=4),
    subject=header_text,
    text=st.one_of(st.none(), body_text),
    html=st.one_of(st.none(), body_text),
    attachments=files,
    transport=transports,
)
def test_build_then_parse(
    sender: tuple[str, str],
    to: list[tuple[str, str]],
    subject: str,
    text: str | None,
    html: str | None,
    attachments: list[tuple[bytes, str, bool]],
    transport: dict[str, bool],
) -> None:
    message = mime.Message(sender=sender, to=to, subject=subject, text=text, html=html)
    made = [
        message.attach(data, filename=name, inline=inline) for data, name, inline in attachments
    ]
    data = message.as_bytes(**transport)
    utf8 = transport.get("utf8_headers", False)
    if not transport:
        assert data.isascii()
    parsed = mime.parse(data)
    assert parsed.all_defects() == []
    assert parsed.subject == subject
    assert [(a.name, a.addr_spec) for a in parsed.addresses("from")] == [
        (sender[0], _expected_spec(sender[1], utf8))
    ]
    assert [(a.name, a.addr_spec) for a in parsed.addresses("to")] == [
        (name, _expected_spec(spec, utf8)) for name, spec in to
    ]
    leaves = [entity for entity in parsed.walk() if not entity.parts]
    bodies = [entity for entity in leaves if entity.disposition == ""]
    expected_bodies = [t for t in (text, html) if t is not None]
    if not expected_bodies and not attachments:
        expected_bodies = [""]
    assert [b.text() for b in bodies] == [normalize_newlines(t) for t in expected_bodies]
    files_found = [
        (e.content(), e.filename, e.disposition == "inline") for e in leaves if e.disposition
    ]
    inline_first = html is not None
    expected_files = [(a.source, a.filename, a.inline) for a in made]
    if inline_first:
        expected_files = [f for f in expected_files if f[2]] + [
            f for f in expected_files if not f[2]
        ]
    assert files_found == expected_files
    assert bytes(parsed) == data


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_parse_then_serialise_gives_the_same_bytes(data: bytes) -> None:
    parsed = mime.parse(data)
    assert bytes(parsed) == data
    assert b"".join(parsed.iter_bytes(chunk_size=7)) == data
    for entity in parsed.walk():  # tolerant: never an exception
        entity.content()
        _ = entity.defects


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["text/plain", "image/png", "message/rfc822"]), st.binary(max_size=300)
        ),
        max_size=5,
    )
)
def test_parse_of_a_built_message_keeps_every_part_slice(parts: list[tuple[str, bytes]]) -> None:
    message = mime.Message(sender="a@b.example", text="body")
    for kind, data in parts:
        content = b"Subject: x\r\n\r\n" + data.hex().encode() if kind == "message/rfc822" else data
        message.attach(content, content_type=kind, filename="f")
    raw = message.as_bytes(binary=True)
    parsed = mime.parse(raw)
    for entity in parsed.walk():
        assert raw[entity.start : entity.end] == bytes(entity)
        assert bytes(mime.parse(bytes(entity))) == bytes(entity)
