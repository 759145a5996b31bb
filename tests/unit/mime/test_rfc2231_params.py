"""Parameters: RFC 2045 §5.1 syntax, RFC 2231 continuations and charsets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwire import mime
from mailwire.mime._defects import Defect
from mailwire.mime._params import format_params, parse_params, parse_value


def _params(text: str) -> tuple[dict[str, str], list[str]]:
    defects: list[Defect] = []
    kind, rest = parse_value(text, defects, media_type=True)
    assert kind
    return parse_params(rest, defects), [d.code for d in defects]


def test_rfc2045_quoted_and_token_values() -> None:
    params, defects = _params('text/plain; charset=us-ascii; Name="a \\"b\\" c"')
    assert params == {"charset": "us-ascii", "name": 'a "b" c'}
    assert defects == []


def test_rfc2045_comment_after_value() -> None:
    # RFC 2045 §5.1 example: comments may follow a value.
    params, _ = _params("text/plain; charset=us-ascii (Plain text)")
    assert params == {"charset": "us-ascii"}


def test_rfc2231_section_3_continuations() -> None:
    # RFC 2231 §3 example.
    text = (
        "message/external-body; access-type=URL;\r\n"
        ' URL*0="ftp://";\r\n'
        ' URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"'
    )
    params, defects = _params(text.replace("\r\n", ""))
    assert params["url"] == "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"
    assert defects == []


def test_rfc2231_section_4_charset_and_language() -> None:
    # RFC 2231 §4 example.
    params, _ = _params(
        "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"
    )
    assert params["title"] == "This is ***fun***"


def test_rfc2231_section_4_1_mixed_sections() -> None:
    # RFC 2231 §4.1 example: encoded and plain sections in one value.
    params, _ = _params(
        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
        'title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn\'t it!"'
    )
    assert params["title"] == "This is even more ***fun*** isn't it!"


def test_utf8_filename() -> None:
    params, _ = _params("application/pdf; name*=utf-8''documentaci%C3%B3n.pdf")
    assert params["name"] == "documentación.pdf"


def test_invalid_type_falls_back_to_text_plain() -> None:
    # RFC 2045 §5.2: an unreadable Content-Type means text/plain; us-ascii.
    message = mime.parse(b"Content-Type: application-x-gzip\r\n\r\nbody")
    assert message.content_type == "text/plain"
    assert message.params["charset"] == "us-ascii"
    assert "invalid-type" in [d.code for d in message.defects]


def test_runs_of_semicolons_are_tolerated() -> None:
    params, defects = _params("multipart/mixed;;; ;boundary=abc;;")
    assert params == {"boundary": "abc"}
    assert defects == []


@pytest.mark.parametrize(
    "value",
    ["plain.txt", "with space.txt", 'quote".txt', "naïve résumé.pdf", "x" * 200, "日本語" * 30],
)
def test_format_then_parse(value: str) -> None:
    items = format_params({"filename": value})
    params, defects = _params("application/octet-stream; " + "; ".join(items))
    assert params == {"filename": value}
    assert defects == []
    assert all(len(item) < 90 for item in items)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=150))
def test_format_then_parse_any_text(value: str) -> None:
    items = format_params({"name": value})
    params, _ = _params("text/plain; " + "; ".join(items))
    assert params["name"] == value


@pytest.mark.parametrize("filename", ["'", "it's.txt", "a'b'c"])
def test_an_apostrophe_is_quoted_so_readers_do_not_take_it_for_rfc2231(filename: str) -> None:
    """A bare token with "'" is valid RFC 2045, but email (and others) read
    charset'lang'value into it; quoted, every reader sees the plain name."""
    import email
    import email.policy

    message = mime.Message(sender="a@example.org", text="x")
    message.attach(b"data", filename=filename)
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    assert [part.get_filename() for part in parsed.iter_attachments()] == [filename]
