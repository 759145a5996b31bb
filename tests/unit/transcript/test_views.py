"""Mermaid and HTML views: built from the redacted, escaped text rendering."""

from __future__ import annotations

import re

from mailwire.transcript import Transcript


def session() -> Transcript:
    t = Transcript(keep_secrets=True)
    t.received(b"220 mx.example ESMTP <script>alert(1)</script>; #1\r\n")
    t.sent(b"EHLO client.example\r\n")
    t.received(b"250 STARTTLS\r\n")
    t.sent(b"STARTTLS\r\n")
    t.received(b"220 go \x1b[2J\r\n")
    t.tls_established("TLS established: TLSv1.3")
    t.sent(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", secrets=((11, 31),))
    t.received(b"235 ok\r\n")
    return t


def test_mermaid_structure() -> None:
    text = session().to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    messages = [line.strip() for line in lines if "->>" in line or "-)" in line]
    assert messages[0].startswith("S->>C: 220 mx.example ESMTP")
    assert messages[1] == "C->>S: EHLO client.example"
    # After the handshake the arrows change (inside TLS).
    assert any(m.startswith("C-)S: AUTH PLAIN") for m in messages)
    assert any(m.startswith("S-)C: 235 ok") for m in messages)
    assert any(line.strip().startswith("Note over C,S: tls: TLS established") for line in lines)


def test_mermaid_labels_cannot_break_the_diagram() -> None:
    text = session().to_mermaid()
    for line in text.splitlines()[3:]:
        label = line.split(": ", 1)[1]
        # ";" ends a Mermaid statement and "#" starts an entity: both encoded.
        assert ";" not in re.sub(r"#\d+;", "", label)
        assert "\x1b" not in label
    assert "AGFsaWNl" not in text
    assert "#59;" in text  # the ";" from the greeting, encoded


def test_html_is_self_contained_and_safe() -> None:
    page = session().to_html(title="demo <session>")
    assert page.startswith("<!DOCTYPE html>")
    lowered = page.lower()
    for external in ("http:", "https:", "src=", "href=", "@import", "url(", "<script"):
        assert external not in lowered, external
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "demo &lt;session&gt;" in page
    assert "AGFsaWNl" not in page
    assert "&lt;redacted 20 bytes&gt;" in page
    assert "\x1b" not in page
    assert page.count('class="c tls"') == 1  # the AUTH line, inside TLS
    assert page.count('class="s tls"') == 1


def test_reveal_is_explicit() -> None:
    assert "AGFsaWNlAHNlY3JldA==" in session().to_html(reveal_secrets=True)
    assert "AGFsaWNl" not in Transcript().to_html()
