"""Pictures of a transcript: a Mermaid sequence diagram and a self-contained HTML page.

Both are built from the C:/S: text rendering, which has already escaped every
control character (security.md S41) and redacted every secret (S40), so the
views inherit those guarantees instead of re-implementing them. The HTML page
references nothing outside itself: no script, no stylesheet link, no font, no
CDN; it opens offline and leaks nothing when viewed.
"""

from __future__ import annotations

import html
import re

__all__ = ["entries", "to_html", "to_mermaid"]

_LINE = re.compile(r"^(C|S|C\*|S\*):(?: (.*))?$")


def entries(text: str) -> list[tuple[str, str]]:
    """``(marker, text)`` pairs from a text rendering; marker ``#`` for comments."""
    out: list[tuple[str, str]] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("#"):
            if index == 0 and "transcript" in line:
                continue  # the legend
            out.append(("#", line.lstrip("# ").rstrip()))
            continue
        match = _LINE.match(line)
        if match:
            out.append((match[1], match[2] or ""))
    return out


def _mermaid_text(text: str) -> str:
    # Mermaid labels end at ";" or a newline and read "#...;" as an entity:
    # everything outside a plain set is written as a numeric entity code.
    return "".join(c if c.isalnum() or c in " .,:@=_+/()[]-'*<>" else f"#{ord(c)};" for c in text)


def to_mermaid(text: str) -> str:
    """A ``sequenceDiagram``; messages inside TLS use the open-arrow form."""
    lines = [
        "sequenceDiagram",
        "    participant C as Client",
        "    participant S as Server",
    ]
    for marker, body in entries(text):
        label = _mermaid_text(body) or " "
        if marker == "#":
            lines.append(f"    Note over C,S: {label}")
        elif marker.startswith("C"):
            arrow = "-)" if marker.endswith("*") else "->>"
            lines.append(f"    C{arrow}S: {label}")
        else:
            arrow = "-)" if marker.endswith("*") else "->>"
            lines.append(f"    S{arrow}C: {label}")
    return "\n".join(lines) + "\n"


_STYLE = """
body { font-family: ui-monospace, Menlo, Consolas, monospace; margin: 2em; }
table { border-collapse: collapse; width: 100%; }
td { padding: 2px 8px; vertical-align: top; white-space: pre-wrap; }
tr.c td.text { color: #0b4f9c; } tr.s td.text { color: #333; }
tr.s td.positive, tr.s td.ok { color: #1d6b2a; }
tr.s td.intermediate, tr.s td.continuation { color: #0e6f78; }
tr.s td.transient { color: #8a5a00; }
tr.s td.permanent, tr.s td.err, tr.s td.no { color: #b3261e; }
tr.s td.bad { color: #b3261e; font-weight: bold; } tr.s td.bye { color: #7b2c8f; }
tr.note td { color: #666; font-style: italic; }
td.who { font-weight: bold; width: 3em; }
tr.tls td.who::after { content: " \\1F512"; }
caption { text-align: left; font-size: 1.2em; margin-bottom: 1em; }
"""


def to_html(text: str, title: str = "mailwire transcript", protocol: str | None = None) -> str:
    """A page with one row per wire line; nothing in it is fetched from elsewhere.

    A server line's text cell also carries its reply class (``positive``,
    ``transient``, ``no``, ``bye`` ... as in the coloured terminal view), and
    the page's own stylesheet colours it.
    """
    from mailwire._transcript_render import line_class

    rows = []
    for marker, body in entries(text):
        if marker == "#":
            rows.append(f'<tr class="note"><td class="who"></td><td>{html.escape(body)}</td></tr>')
            continue
        who = "client" if marker.startswith("C") else "server"
        tls = " tls" if marker.endswith("*") else ""
        label = "C" if who == "client" else "S"
        reply = line_class(marker, body, protocol) if who == "server" else None
        cell = f"text {reply}" if reply else "text"
        rows.append(
            f'<tr class="{label.lower()}{tls}"><td class="who" title="{who}">{label}</td>'
            f'<td class="{cell}">{html.escape(body)}</td></tr>'
        )
    legend = (
        "C: client, S: server. A lock marks lines sent inside TLS; lines without it "
        "crossed the network in the clear. Secrets are shown as &lt;redacted&gt;."
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><table><caption>{html.escape(title)}<br><small>{legend}</small></caption>\n"
        + "\n".join(rows)
        + "\n</table></body></html>\n"
    )
