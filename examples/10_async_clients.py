"""10: the asyncio clients: send over SMTP while IMAP watches for the message.

    python examples/10_async_clients.py ["a subject"]

``smtp.AsyncClient`` and ``imap.AsyncClient`` have the methods of the
blocking clients, awaitable; the protocol logic underneath is the same code
(sans-I/O cores, ARCHITECTURE.md). Here two coroutines run at once on one
event loop: one sends a message to your own address, the other logs in to
IMAP and searches INBOX every fifth of a second until the message is there
(a submission server delivers a moment after its 250, not at once).
"""

from __future__ import annotations

import asyncio
import sys
import time

import settings

from mailwire import imap, mime, smtp

subject = sys.argv[1] if len(sys.argv) > 1 else f"Sent with asyncio at {time.strftime('%H:%M:%S')}"
started = time.monotonic()


def say(text: str) -> None:
    print(f"{time.monotonic() - started:6.3f}  {text}")


async def send() -> None:
    message = mime.Message(
        sender=settings.ADDRESS, to=settings.ADDRESS, subject=subject, text="Sent by example 10.\n"
    )
    async with smtp.AsyncClient(
        settings.HOST, settings.SMTP_PORT, tls=settings.SMTP_TLS, ssl_context=settings.ssl_context()
    ) as client:
        say("SMTP: connected, TLS on")
        await client.login(settings.USER, settings.password())
        result = await client.send_message(message)
        say(f"SMTP: sent, the server answered {result.reply.code if result.reply else '?'}")


async def watch(seconds: float) -> str | None:
    async with imap.AsyncClient(
        settings.HOST, settings.IMAP_PORT, tls=settings.IMAP_TLS, ssl_context=settings.ssl_context()
    ) as client:
        say("IMAP: connected, TLS on")
        await client.login(settings.USER, settings.password())
        await client.select("INBOX", readonly=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            uids = await client.search("SUBJECT", subject)
            if uids:
                result = await client.fetch(uids[-1], ["ENVELOPE"])
                envelope = result[uids[-1]].envelope
                say(f"IMAP: UID {uids[-1]} has arrived")
                return envelope.subject if envelope else None
            await asyncio.sleep(0.2)
        return None


async def main() -> int:
    _, found = await asyncio.gather(send(), watch(30.0))
    print(f"read back over IMAP: {found!r}")
    return 0 if found == subject else 1


sys.exit(asyncio.run(main()))
