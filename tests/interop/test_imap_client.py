"""mailwire's IMAP clients against Dovecot 2.3: every flow on a real server.

Each case runs through the blocking and the asyncio client (one set of
flows, two drivers). Messages are seeded over LMTP (``dovecot_lab.seed``) or
APPENDed, with unique Message-IDs and in mailboxes of the test's own, since
the lab's mailboxes are shared by the whole session. Expected values come
from the messages we sent and from Dovecot's own view (``doveadm``), never
from our client's output alone.
"""

from __future__ import annotations

import contextlib
import email
import hashlib
import io
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from mailwire import (
    AuthenticationError,
    IMAPStatusError,
    LocalProtocolError,
    NotSupportedError,
    SecurityError,
    TLSMode,
    imap,
)
from mailwire.imap._sinks import FileSink, file_sinks
from mailwire.imap.search import from_, header, subject
from tests.interop.imap_support import Sync, connect, kind, mailbox, make_message, unique
from tests.lab import DovecotLab
from tests.lab.accounts import ALICE, BOB

__all__ = ["kind", "mailbox"]


def doveadm_uids(lab: DovecotLab, user: str, box: str) -> list[int]:
    out = lab.doveadm("fetch", "-u", user, "uid", "mailbox", box, "all")
    return [int(line.split(":", 1)[1]) for line in out.splitlines() if line.startswith("uid:")]


# ------------------------------------------------------------------ session


def test_implicit_tls_login_and_capabilities(kind: str, dovecot_lab: DovecotLab) -> None:
    with Sync(
        kind,
        dovecot_lab.host,
        dovecot_lab.imaps_port,
        ssl_context=dovecot_lab.client_context(),
        timeout=10,
    ) as c:
        assert c.client.connection.tls_active
        assert c.client.state.name == "NOT_AUTHENTICATED"
        caps = c.login(ALICE.name, ALICE.password)
        assert c.client.state.name == "AUTHENTICATED"
        # Dovecot lists its extensions only after login (RFC 9051 §6.2.3).
        for name in ("IDLE", "MOVE", "UIDPLUS", "CONDSTORE", "QRESYNC", "ESEARCH"):
            assert name in caps
    text = c.client.transcript.render() + c.client.transcript.to_jsonl()
    assert ALICE.password not in text  # S40
    assert "<redacted" in text


def test_starttls_required_and_used(kind: str, dovecot_lab: DovecotLab) -> None:
    with Sync(
        kind,
        dovecot_lab.strict_host,
        dovecot_lab.imap_port,
        tls=TLSMode.STARTTLS,
        ssl_context=dovecot_lab.client_context(),
        timeout=10,
    ) as c:
        assert c.client.connection.tls_active
        # Before TLS Dovecot advertised LOGINDISABLED (strict host); after it, not.
        assert not c.client.capabilities.login_disabled
        # A non-ASCII password: RFC 6855 §5 sends it through AUTHENTICATE, never LOGIN.
        c.login(BOB.name, BOB.password)
        assert c.client.state.name == "AUTHENTICATED"
    sent = c.client.transcript.client_bytes(redact=b"<secret>")
    # The greeting carried the capabilities; after TLS they are asked again (S3).
    assert sent.startswith(b"A1 STARTTLS\r\nA2 CAPABILITY\r\nA3 AUTHENTICATE SCRAM-SHA-256 ")
    assert b"LOGIN" not in sent


def test_login_refused_before_tls_and_under_logindisabled(
    kind: str, dovecot_lab: DovecotLab
) -> None:
    """S38: nothing reaches the server; with LOGINDISABLED not even when allowed."""
    with Sync(
        kind, dovecot_lab.strict_host, dovecot_lab.imap_port, tls=TLSMode.PLAIN, timeout=10
    ) as c:
        assert c.client.capabilities.login_disabled
        with pytest.raises(SecurityError, match="without TLS"):
            c.login(ALICE.name, ALICE.password)
        c.client.allow_plaintext_auth = True
        with pytest.raises(NotSupportedError, match="LOGINDISABLED"):
            c.login(ALICE.name, ALICE.password)
        c.noop()  # still usable
    assert b"LOGIN" not in c.client.transcript.client_bytes()
    assert ALICE.password.encode() not in c.client.transcript.client_bytes()


def test_wrong_password_is_an_authentication_error(kind: str, dovecot_lab: DovecotLab) -> None:
    with Sync(
        kind,
        dovecot_lab.host,
        dovecot_lab.imaps_port,
        ssl_context=dovecot_lab.client_context(),
        timeout=10,
    ) as c:
        with pytest.raises(AuthenticationError) as info:
            c.login(ALICE.name, "not the password")
        assert isinstance(info.value.reply, IMAPStatusError)
        assert info.value.reply.code == "AUTHENTICATIONFAILED"  # RFC 5530
        c.login(ALICE.name, ALICE.password)  # the session is still usable


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "LOGIN", None])
def test_authenticate(kind: str, dovecot_lab: DovecotLab, mechanism: str | None) -> None:
    with Sync(
        kind,
        dovecot_lab.host,
        dovecot_lab.imaps_port,
        ssl_context=dovecot_lab.client_context(),
        timeout=10,
    ) as c:
        c.authenticate(mechanism, username=BOB.name, password=BOB.password)
        assert c.client.state.name == "AUTHENTICATED"
    sent = c.client.transcript.client_bytes(redact=b"<secret>")
    chosen = mechanism or "SCRAM-SHA-256"  # the strongest offered (S39)
    assert f"AUTHENTICATE {chosen}".encode() in sent
    text = c.client.transcript.render()
    assert BOB.password not in text


def test_id_namespace_enable(kind: str, dovecot_lab: DovecotLab) -> None:
    c = connect(kind, dovecot_lab)
    try:
        server = c.id({"name": "mailwire", "version": "test"})
        assert server is not None
        assert server.get("name") == "Dovecot"
        ns = c.namespace()
        assert ns.personal[0].prefix == ""
        assert ns.personal[0].delimiter == "/"
        assert c.enable("CONDSTORE") == ("CONDSTORE",)
        assert "CONDSTORE" in c.client.connection.enabled
    finally:
        c.logout()


# ------------------------------------------------------------------ mailboxes


def test_mailbox_lifecycle_with_non_ascii_names(kind: str, dovecot_lab: DovecotLab) -> None:
    c = connect(kind, dovecot_lab)
    base = unique("Bücher")
    renamed = base + "-日本"
    try:
        c.create(base)
        listed = {m.name for m in c.list("", base + "*")}
        assert listed == {base}
        # Dovecot stores the name in modified UTF-7 (RFC 3501 §5.1.3).
        raw = [m.raw_name for m in c.list("", base)]
        assert raw == [imap.encode_mailbox_name(base)]
        c.rename(base, renamed)
        assert {m.name for m in c.list("", base + "*")} == {renamed}
        c.subscribe(renamed)
        assert renamed in {m.name for m in c.list("", "*", subscribed=True)}
        c.unsubscribe(renamed)
        assert renamed not in {m.name for m in c.list("", "*", subscribed=True)}
        status = c.status(renamed)
        assert status.messages == 0
        assert status.uidvalidity
    finally:
        for name in (base, renamed):
            with contextlib.suppress(IMAPStatusError):
                c.delete(name)
        c.logout()


def test_special_use_and_list_status(kind: str, dovecot_lab: DovecotLab) -> None:
    c = connect(kind, dovecot_lab)
    try:
        special = c.list("", "*", return_options=["SPECIAL-USE"])
        uses = {
            m.name: [a for a in m.attributes if a in ("\\Sent", "\\Trash", "\\Drafts")]
            for m in special
        }
        assert uses["Sent"] == ["\\Sent"]
        assert uses["Trash"] == ["\\Trash"]
        statuses = c.list_status("*", ["MESSAGES", "UIDNEXT"])
        assert "INBOX" in statuses
        assert statuses["INBOX"].uidnext
    finally:
        c.logout()


def test_select_examine_close_unselect(kind: str, dovecot_lab: DovecotLab, mailbox: str) -> None:
    c = connect(kind, dovecot_lab)
    try:
        c.append(mailbox, make_message())
        opened = c.select(mailbox)
        assert opened.exists == 1
        assert not opened.readonly
        assert c.client.state.name == "SELECTED"
        assert "\\Seen" in opened.flags
        c.unselect()
        assert c.client.state.name == "AUTHENTICATED"
        assert c.client.mailbox is None
        ro = c.examine(mailbox)
        assert ro.readonly
        assert ro.exists == 1
        c.close()
        with pytest.raises(IMAPStatusError) as info:
            c.select(unique("missing"))
        assert info.value.status == "NO"
        assert c.client.state.name == "AUTHENTICATED"  # RFC 9051 §6.3.2
    finally:
        c.logout()


# ------------------------------------------------------------------ messages


def test_append_search_fetch_store(kind: str, dovecot_lab: DovecotLab, mailbox: str) -> None:
    c = connect(kind, dovecot_lab)
    wanted = unique("needle")
    data = make_message(subject=wanted, body="Body text.\r\n.dot line\r\n")
    date = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    try:
        result = c.append(mailbox, data, flags=["\\Flagged", "$Custom"], date=date)
        assert result.uidvalidity
        assert len(result.uids) == 1
        c.append(mailbox, make_message())
        c.select(mailbox)
        (uid,) = result.uids
        assert c.search(subject(wanted)) == [uid]
        assert c.search("SUBJECT", wanted) == [uid]
        assert sorted(c.search("ALL")) == doveadm_uids(dovecot_lab, ALICE.name, mailbox)
        got = c.fetch(uid, ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY.PEEK[]"])
        item = got[uid]
        assert item.sections["BODY[]"] == data
        assert item.size == len(data)
        assert item.internaldate == date
        assert set(item.flags) - {"\\Recent"} == {"\\Flagged", "$Custom"}
        assert item.envelope.subject == wanted
        assert item.envelope.from_[0].addr_spec == "seed@example.test"
        changed = c.store(uid, ["\\Seen"])
        assert "\\Seen" in changed[uid].flags
        c.store(uid, ["\\Flagged"], "-", silent=True)
        assert set(c.fetch(uid, "FLAGS")[uid].flags) - {"\\Recent"} == {"\\Seen", "$Custom"}
    finally:
        c.logout()


def test_fetch_to_sinks_with_progress(
    kind: str, dovecot_lab: DovecotLab, mailbox: str, tmp_path: Any
) -> None:
    c = connect(kind, dovecot_lab)
    bodies = [make_message(body="x" * (200_000 + i) + "\r\n") for i in range(3)]
    try:
        uids = [c.append(mailbox, b).uids[0] for b in bodies]
        c.select(mailbox)
        seen: list[tuple[int, str, int, int]] = []
        result = c.fetch(
            "1:*", ["BODY.PEEK[]"], sink=file_sinks(tmp_path), progress=lambda *a: seen.append(a)
        )
        assert sorted(result) == uids
        for uid, body in zip(uids, bodies, strict=True):
            assert (tmp_path / f"{uid}.eml").read_bytes() == body
            assert result[uid].streamed == {"BODY[]": len(body)}
            assert "BODY[]" not in result[uid].sections
            done = [d for u, s, d, t in seen if u == uid]
            assert done[-1] == len(body)
        assert not list(tmp_path.glob("*.part"))
    finally:
        c.logout()


def test_copy_move_expunge(kind: str, dovecot_lab: DovecotLab, mailbox: str) -> None:
    c = connect(kind, dovecot_lab)
    other = unique("dest")
    try:
        c.create(other)
        uids = [c.append(mailbox, make_message()).uids[0] for _ in range(3)]
        c.select(mailbox)
        copied = c.copy(uids[0], other)
        assert copied is not None
        assert list(copied.source) == [uids[0]]
        moved = c.move(uids[1], other)
        assert moved is not None
        assert list(moved.source) == [uids[1]]
        assert doveadm_uids(dovecot_lab, ALICE.name, mailbox) == [uids[0], uids[2]]
        assert sorted(doveadm_uids(dovecot_lab, ALICE.name, other)) == sorted(
            [*copied.destination, *moved.destination]
        )
        c.store(uids[2], ["\\Deleted"])
        assert c.expunge(uids[2]) == [2]  # UID EXPUNGE: message 2 of the two left
        assert doveadm_uids(dovecot_lab, ALICE.name, mailbox) == [uids[0]]
        assert c.client.mailbox.exists == 1
    finally:
        c.unselect()
        c.delete(other)
        c.logout()


def test_append_trycreate(kind: str, dovecot_lab: DovecotLab) -> None:
    c = connect(kind, dovecot_lab)
    try:
        with pytest.raises(IMAPStatusError) as info:
            c.append(unique("nowhere"), make_message())
        assert info.value.code == "TRYCREATE"  # RFC 9051 §6.3.12
        c.noop()
    finally:
        c.logout()


def test_append_50_mb_streamed_from_a_file(
    kind: str, dovecot_lab: DovecotLab, mailbox: str, tmp_path: Any
) -> None:
    head = make_message(body="")
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-+=*/!?\r\n"
    path = tmp_path / "big.eml"
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        file.write(head)
        digest.update(head)
        block = line * 1000
        for _ in range(50_000_000 // len(block) + 1):
            file.write(block)
            digest.update(block)
    size = path.stat().st_size
    c = connect(kind, dovecot_lab, timeout=60)
    try:
        result = c.append(mailbox, path)
        (uid,) = result.uids
        c.select(mailbox)
        got = hashlib.sha256()
        c.fetch(uid, ["BODY.PEEK[]"], sink=lambda u, s: _Hasher(got))
        assert got.hexdigest() == digest.hexdigest()
        assert c.fetch(uid, "RFC822.SIZE")[uid].size == size
    finally:
        c.logout()


class _Hasher:
    def __init__(self, digest: Any) -> None:
        self.digest = digest

    def write(self, data: bytes) -> None:
        self.digest.update(data)


def test_idle_sees_a_delivery(kind: str, dovecot_lab: DovecotLab) -> None:
    """IDLE reports a message delivered over LMTP while idling (RFC 2177)."""
    c = connect(kind, dovecot_lab)
    try:
        c.select("INBOX")
        before = c.client.mailbox.exists
        marker = unique("idle")

        def deliver() -> None:
            threading.Timer(0.3, dovecot_lab.seed, (make_message(subject=marker), ALICE)).start()

        events = c.idle_events(timeout=10, wanted=1, on_start=deliver)
        assert any(isinstance(e, imap.Exists) and e.count > before for e in events)
        assert c.client.state.name == "SELECTED"  # DONE sent, OK received
        uids = c.search(subject(marker))
        assert len(uids) == 1
    finally:
        c.logout()


def test_idle_times_out_quietly(kind: str, dovecot_lab: DovecotLab) -> None:
    c = connect(kind, dovecot_lab)
    try:
        c.select("INBOX")
        events = c.idle_events(timeout=0.5, wanted=1, on_start=lambda: None)
        assert events == []
        c.noop()  # the connection survived the wait
    finally:
        c.logout()


def test_condstore_and_qresync_resync(kind: str, dovecot_lab: DovecotLab, mailbox: str) -> None:
    c = connect(kind, dovecot_lab)
    try:
        uids = [c.append(mailbox, make_message()).uids[0] for _ in range(3)]
        # RFC 7162 §3.2.3 / RFC 5161 §3.1: QRESYNC is enabled before any SELECT.
        assert "QRESYNC" in c.enable("QRESYNC")
        first = c.select(mailbox, condstore=True)
        assert first.highestmodseq is not None
        validity, modseq = first.uidvalidity, first.highestmodseq
        c.store(uids[0], ["\\Answered"])
        changed = c.fetch("1:*", ["FLAGS"], changedsince=modseq)
        assert list(changed) == [uids[0]]
        assert changed[uids[0]].modseq > modseq
        c.store(uids[1], ["\\Deleted"])
        c.expunge(uids[1])
        c.unselect()
        again = c.select(mailbox, qresync=imap.QResync(validity, modseq, f"{uids[0]}:{uids[2]}"))
        assert uids[1] in again.vanished
        assert uids[0] in again.changed
        assert "\\Answered" in again.changed[uids[0]].flags
    finally:
        c.logout()


def test_sort_thread_esearch(kind: str, dovecot_lab: DovecotLab, mailbox: str) -> None:
    c = connect(kind, dovecot_lab)
    try:
        first = make_message(subject="b-second")
        second = make_message(subject="a-first")
        u1 = c.append(mailbox, first).uids[0]
        u2 = c.append(mailbox, second).uids[0]
        c.select(mailbox)
        assert c.sort(["SUBJECT"], "ALL") == [u2, u1]
        assert c.sort(["REVERSE", "SUBJECT"]) == [u1, u2]
        threads = c.thread("REFERENCES")
        assert sorted(t[0] for t in threads) == [u1, u2]
        found = c.esearch("ALL", returns=["MIN", "MAX", "COUNT"])
        assert (found.min, found.max, found.count) == (u1, u2, 2)
    finally:
        c.logout()


def test_pipelined_batch(kind: str, dovecot_lab: DovecotLab, mailbox: str) -> None:
    c = connect(kind, dovecot_lab)
    try:
        uids = [c.append(mailbox, make_message()).uids[0] for _ in range(3)]
        c.select(mailbox)
        results = c.pipeline(
            [
                imap.Fetch(uids[0], ["FLAGS"]),
                imap.Store(uids[1], ["\\Flagged"]),
                imap.Search(("FLAGGED",)),
                imap.Fetch(uids[2], ["RFC822.SIZE"]),
                imap.Select("no-such-mailbox-here") if False else imap.Noop(),
            ]
        )
        assert [r.ok for r in results] == [True] * 5
        flagged = [r for r in results[2].data if isinstance(r, imap.SearchData)]
        assert flagged[0].numbers == (uids[1],)
        # All five went in one write, before any reply (RFC 9051 §5.5).
        sent = [
            r
            for r in c.client.transcript.records
            if r.kind.value == "data" and r.direction.value == "C"
        ]
        assert any(r.data.count(b"\r\n") == 5 for r in sent)
    finally:
        c.logout()


def test_sequence_numbers_not_pipelined_after_expunging_command(
    kind: str, dovecot_lab: DovecotLab
) -> None:
    c = connect(kind, dovecot_lab)
    try:
        c.select("INBOX")
        with pytest.raises(LocalProtocolError, match=r"5\.5"):
            c.pipeline([imap.Copy("1", "INBOX", uid=False), imap.Copy("1", "INBOX", uid=False)])
    finally:
        c.disconnect()


def test_message_as_email_and_mime_objects(
    kind: str, dovecot_lab: DovecotLab, mailbox: str
) -> None:
    from mailwire import mime

    c = connect(kind, dovecot_lab)
    try:
        built = mime.Message(
            sender="a@example.test", to=["b@example.test"], subject="built", text="caf\u00e9\r\n"
        )
        u1 = c.append(mailbox, built).uids[0]
        stdlib = email.message_from_bytes(make_message(subject="stdlib"))
        u2 = c.append(mailbox, stdlib).uids[0]
        u3 = c.append(mailbox, io.BytesIO(make_message(subject="file"))).uids[0]
        c.select(mailbox)
        envelopes = c.fetch([u1, u2, u3], ["ENVELOPE"])
        assert [envelopes[u].envelope.subject for u in (u1, u2, u3)] == ["built", "stdlib", "file"]
    finally:
        c.logout()


def test_header_search_and_partial_fetch(kind: str, dovecot_lab: DovecotLab, mailbox: str) -> None:
    c = connect(kind, dovecot_lab)
    data = make_message(**{"X-Marker": "findme"})
    try:
        uid = c.append(mailbox, data).uids[0]
        c.select(mailbox)
        assert c.search(header("X-Marker", "findme")) == [uid]
        assert c.search(from_("seed@example.test")) == [uid]
        part = c.fetch(uid, [imap.body_section(partial=(0, 10))])[uid]
        assert part.sections["BODY[]<0>"] == data[:10]
        head = c.fetch(uid, [imap.body_section(fields=["Subject"])])[uid]
        (value,) = head.sections.values()
        assert value.startswith(b"Subject: ")
    finally:
        c.logout()


def test_file_sink_is_complete_only_when_whole(tmp_path: Any) -> None:
    sink = FileSink(tmp_path / "m.eml")
    sink.write(b"abc")
    sink.abort(RuntimeError("cut"))
    assert list(tmp_path.iterdir()) == []
    sink = FileSink(tmp_path / "m.eml")
    sink.write(b"abc")
    sink.close()
    assert (tmp_path / "m.eml").read_bytes() == b"abc"
