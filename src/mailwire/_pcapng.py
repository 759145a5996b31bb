"""Writing a transcript as a pcapng capture that Wireshark and tshark dissect.

pcapng (draft-ietf-opsawg-pcapng) is a sequence of blocks; we write a Section
Header Block, one Interface Description Block (Ethernet), an Enhanced Packet
Block per synthetic frame, and -- when secrets are revealed -- a Decryption
Secrets Block holding the TLS key log, so Wireshark decrypts the session by
itself.

The frames are made up, the bytes are not: Ethernet, IPv4 and TCP headers are
synthesised around the recorded application bytes (or raw TLS records) with
consistent sequence numbers, a three-way handshake, and FINs at the end, time
stamped with the recorded timing. Addresses come from the documentation
ranges (RFC 5737): the client is 192.0.2.1, the server 198.51.100.1, so a
shared capture reveals nothing about the real hosts.

Two modes:

- default (safe to share): the application bytes with every secret replaced
  by ``*`` of the same length, on the protocol's standard port. When TLS
  started with STARTTLS, the bytes from then on go in a second TCP stream
  (Wireshark would otherwise expect TLS records after the go-ahead); a packet
  comment says the handshake happened there.
- ``reveal_secrets=True``: what really crossed the wire -- plaintext before
  TLS, the raw TLS records after -- plus this session's key-log lines. Anyone
  holding the file can read everything, passwords included.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator

from mailwire.transcript import Direction, Kind, Record, Transcript

__all__ = ["write_pcapng"]

CLIENT_IP = bytes([192, 0, 2, 1])
SERVER_IP = bytes([198, 51, 100, 1])
CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")
MSS = 1460

# Ports Wireshark dissects by default: plaintext, then TLS.
PLAIN_PORTS = {"smtp": 25, "lmtp": 24, "pop3": 110, "imap": 143}
TLS_PORTS = {"smtp": 465, "lmtp": 24, "pop3": 995, "imap": 993}


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _block(kind: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _section_header() -> bytes:
    body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    body += _option(4, b"mailwire") + _option(0, b"")  # shb_userappl, opt_endofopt
    return _block(0x0A0D0D0A, body)


def _interface() -> bytes:
    body = struct.pack("<HHI", 1, 0, 0)  # LINKTYPE_ETHERNET, reserved, snaplen
    body += _option(9, b"\x06") + _option(0, b"")  # if_tsresol: microseconds
    return _block(1, body)


def _packet(when: float, frame: bytes, comment: str | None) -> bytes:
    micros = int(when * 1_000_000)
    body = struct.pack("<IIIII", 0, micros >> 32, micros & 0xFFFFFFFF, len(frame), len(frame))
    body += _pad(frame)
    if comment:
        body += _option(1, comment.encode("utf-8")) + _option(0, b"")
    return _block(6, body)


def _secrets(keylog: bytes) -> bytes:
    body = struct.pack("<II", 0x544C534B, len(keylog)) + _pad(keylog)  # "TLSK"
    return _block(0x0000000A, body)


class _TCP:
    """One synthetic TCP connection: frames with consistent seq/ack numbers."""

    def __init__(self, client_port: int, server_port: int) -> None:
        self.ports = {
            Direction.CLIENT: (client_port, server_port),
            Direction.SERVER: (server_port, client_port),
        }
        self.seq = {Direction.CLIENT: 1000, Direction.SERVER: 5000}

    def _frame(self, sender: Direction, flags: int, payload: bytes = b"") -> bytes:
        other = Direction.SERVER if sender is Direction.CLIENT else Direction.CLIENT
        src_port, dst_port = self.ports[sender]
        src_ip, dst_ip = (
            (CLIENT_IP, SERVER_IP) if sender is Direction.CLIENT else (SERVER_IP, CLIENT_IP)
        )
        ack = self.seq[other] if flags & 0x10 else 0
        tcp = struct.pack(
            "!HHIIBBHHH", src_port, dst_port, self.seq[sender], ack, 5 << 4, flags, 65535, 0, 0
        )
        pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp + payload)) + tcp[18:]
        ip = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(tcp) + len(payload),
            0,
            0x4000,
            64,
            6,
            0,
            src_ip,
            dst_ip,
        )
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        macs = (
            (SERVER_MAC + CLIENT_MAC) if sender is Direction.CLIENT else (CLIENT_MAC + SERVER_MAC)
        )
        self.seq[sender] = (
            self.seq[sender] + len(payload) + (1 if flags & 0x03 else 0)
        ) & 0xFFFFFFFF
        return macs + b"\x08\x00" + ip + tcp + payload

    def open(self) -> list[bytes]:
        syn = self._frame(Direction.CLIENT, 0x02)
        syn_ack = self._frame(Direction.SERVER, 0x12)
        ack = self._frame(Direction.CLIENT, 0x10)
        return [syn, syn_ack, ack]

    def data(self, sender: Direction, payload: bytes) -> list[bytes]:
        return [
            self._frame(sender, 0x18, payload[i : i + MSS]) for i in range(0, len(payload), MSS)
        ]

    def close(self) -> list[bytes]:
        return [
            self._frame(Direction.CLIENT, 0x11),
            self._frame(Direction.SERVER, 0x11),
            self._frame(Direction.CLIENT, 0x10),
        ]


def _client_random(records: list[Record]) -> bytes | None:
    """The ClientHello random: TLS record header (5) + handshake header (4) + version (2)."""
    for record in records:
        if record.kind is Kind.TLS_RECORD and record.direction is Direction.CLIENT:
            data = record.data
            if len(data) >= 43 and data[0] == 0x16 and data[5] == 0x01:
                return data[11:43]
            return None
    return None


def _session_keys(transcript: Transcript) -> bytes:
    """The key-log lines of this session (matched by client random)."""
    path = transcript.keylog_file
    if path is None or not os.path.exists(path):
        return b""
    random = _client_random(transcript.records)
    if random is None:
        return b""
    wanted = random.hex().encode()
    with open(path, "rb") as file:
        lines = [
            line for line in file if len(line.split()) == 3 and line.split()[1].lower() == wanted
        ]
    return b"".join(lines)


def _pieces(transcript: Transcript, reveal: bool) -> Iterator[tuple[Record, bytes, bool]]:
    """(record, bytes to put on the wire, starts-a-new-TLS-segment) in order."""
    for record in transcript.records:
        if reveal:
            if record.kind is Kind.TLS_RECORD or (record.kind is Kind.DATA and not record.tls):
                yield record, record.data, False
        elif record.kind is Kind.DATA:
            data = record.data if not record.sensitive else b"*" * record.size
            yield record, data, False
        elif record.kind is Kind.TLS and (record.note or "").startswith("TLS established"):
            yield record, b"", True


def _payloads(transcript: Transcript, reveal: bool) -> Iterator[tuple[Record, bytes, bool]]:
    """As :func:`_pieces`, with a write the transcript split at a secret made whole again.

    The transcript cuts ``PASS secret\r\n`` into three records so that the
    secret can be redacted; sent as three segments, dissectors that read a
    command from one segment (POP, IMAP) would see ``PASS`` without its
    argument. A DATA record next to a secret one, from the same side, goes
    in the same segment, stamped with the time of the first.
    """
    held: tuple[Record, bytearray] | None = None
    last_secret = False
    for record, data, new_stream in _pieces(transcript, reveal):
        joins = (
            held is not None
            and record.kind is Kind.DATA
            and held[0].kind is Kind.DATA
            and record.direction is held[0].direction
            and record.tls == held[0].tls
            and (record.sensitive or last_secret)
        )
        if joins and held is not None:
            held[1].extend(data)
        else:
            if held is not None:
                yield held[0], bytes(held[1]), False
                held = None
            if new_stream:
                yield record, data, True
            else:
                held = (record, bytearray(data))
        last_secret = record.sensitive
    if held is not None:
        yield held[0], bytes(held[1]), False


def write_pcapng(
    transcript: Transcript, path: str | os.PathLike[str], *, reveal_secrets: bool = False
) -> int:
    """Write ``transcript`` to ``path`` as pcapng; returns the number of frames.

    Raises:
        ValueError: ``reveal_secrets`` without the secret bytes (a transcript
            made without ``keep_secrets=True`` has none to reveal).
    """
    from mailwire._transcript_protocol import guess_protocol

    protocol = guess_protocol(transcript) or "smtp"
    records = transcript.records
    implicit = (
        bool(records)
        and any(r.kind is Kind.TLS for r in records)
        and not any(r.kind is Kind.DATA and not r.tls for r in records)
    )
    if reveal_secrets and any(r.sensitive and not r.data and r.size for r in records):
        raise ValueError("reveal_secrets needs a transcript recorded with keep_secrets=True")
    port = (TLS_PORTS if (implicit and reveal_secrets) else PLAIN_PORTS).get(protocol, 25)
    start = time.time() - (records[-1].time - records[0].time if records else 0.0)
    base = records[0].time if records else 0.0
    blocks = [_section_header(), _interface()]
    frames = 0
    tcp = _TCP(49152, port)
    first = True
    comment: str | None = None
    for record, payload, new_stream in _payloads(transcript, reveal_secrets):
        when = start + (record.time - base)
        if first:
            for frame in tcp.open():
                blocks.append(_packet(when, frame, None))
                frames += 1
            first = False
        if new_stream and not implicit:
            # After STARTTLS: continue in a fresh stream, dissected from scratch.
            for frame in tcp.close():
                blocks.append(_packet(when, frame, None))
            tcp = _TCP(49153, port)
            for frame in tcp.open():
                blocks.append(_packet(when, frame, None))
            frames += 6
            comment = f"{record.note}; the bytes below were inside TLS (shown decrypted)"
            continue
        if new_stream:
            comment = f"{record.note}; implicit TLS, shown decrypted"
            continue
        for frame in tcp.data(record.direction, payload):
            blocks.append(_packet(when, frame, comment))
            comment = None
            frames += 1
    if not first:
        end = start + (records[-1].time - base)
        for frame in tcp.close():
            blocks.append(_packet(end, frame, None))
            frames += 1
    if reveal_secrets:
        keys = _session_keys(transcript)
        if keys:
            blocks.insert(2, _secrets(keys))
    with open(path, "wb") as file:
        file.write(b"".join(blocks))
    return frames
