"""Address lists: RFC 5322 Appendix A examples, groups, obsolete forms, IDNA."""

from __future__ import annotations

import pytest

from mailwire import mime
from mailwire.mime.address import (
    Address,
    Group,
    domain_to_ascii,
    domain_to_unicode,
    format_address_list,
    mailboxes,
    parse_address,
    parse_address_list,
)


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(a.name, a.addr_spec) for a in mailboxes(parse_address_list(text))]


def test_a_1_2_different_types_of_mailboxes() -> None:
    assert _pairs('"Joe Q. Public" <john.q.public@example.com>') == [
        ("Joe Q. Public", "john.q.public@example.com")
    ]
    assert _pairs("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>") == [
        ("Mary Smith", "mary@x.test"),
        ("", "jdoe@example.org"),
        ("Who?", "one@y.test"),
    ]
    assert _pairs('<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>') == [
        ("", "boss@nil.test"),
        ('Giant; "Big" Box', "sysservices@example.net"),
    ]


def test_a_1_3_groups() -> None:
    items = parse_address_list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;")
    assert items == [
        Group(
            "A Group",
            (
                Address("Ed Jones", "c@a.test"),
                Address("", "joe@where.test"),
                Address("John", "jdoe@one.test"),
            ),
        )
    ]
    assert parse_address_list("Undisclosed recipients:;") == [Group("Undisclosed recipients")]


def test_a_5_white_space_and_comments() -> None:
    assert _pairs("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>") == [
        ("Pete", "pete@silly.test")
    ]
    to = (
        "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
        "         joe@example.org,\r\n"
        "  John <jdoe@one.test> (my dear friend); (the end of the group)"
    )
    [group] = parse_address_list(to)
    assert isinstance(group, Group)
    assert group.name == "A Group"
    assert [(a.name, a.addr_spec) for a in group.members] == [
        ("Chris Jones", "c@public.example"),
        ("", "joe@example.org"),
        ("John", "jdoe@one.test"),
    ]
    cc = "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;"
    assert parse_address_list(cc) == [Group("Hidden recipients")]


def test_a_6_1_obsolete_addressing() -> None:
    defects: list[mime.Defect] = []
    items = parse_address_list(
        "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example", defects=defects
    )
    assert [(a.name, a.addr_spec) for a in mailboxes(items)] == [
        ("Mary Smith", "mary@example.net"),
        ("", "jdoe@test.example"),
    ]
    assert [d.code for d in defects] == ["obsolete-route"]
    assert _pairs("Joe Q. Public <john.q.public@example.com>") == [
        ("Joe Q. Public", "john.q.public@example.com")
    ]


def test_rfc6532_utf8_addresses() -> None:
    assert _pairs("Jörg <jörg@bücher.example>") == [("Jörg", "jörg@bücher.example")]


def test_display_text_parses_back_to_the_same_mailboxes() -> None:
    items = parse_address_list('"Evil, Inc." <a@b.c>, "a\\"b" <c@d.e>, x@y.z')
    assert parse_address_list(format_address_list(items)) == items


def test_parse_address_is_strict() -> None:
    assert parse_address("Name <a@b.example>") == Address("Name", "a@b.example")
    for bad in ["a@b, c@d", "a b@c", "a@b\r\nBcc: x@y", "<a@b", "", "a@b@c"]:
        with pytest.raises(ValueError):
            parse_address(bad)


def test_idna_domains() -> None:
    # RFC 3492 Punycode of the NFC, lower-cased label (RFC 5891 §4).
    assert domain_to_ascii("Bücher.example") == "xn--bcher-kva.example"
    assert domain_to_ascii("straße.de") == "xn--strae-oqa.de"
    assert domain_to_unicode("xn--bcher-kva.example") == "bücher.example"
    assert domain_to_ascii("[192.0.2.1]") == "[192.0.2.1]"
    assert domain_to_ascii("example.org") == "example.org"
    for bad in ["exa\u200bmple.com", "a..b", "", "a\u00a0b.com", "x" * 64 + ".com"]:
        with pytest.raises(ValueError):
            domain_to_ascii(bad)
