"""What a reply code means: SMTP replies, enhanced status codes, IMAP and POP3 codes.

Used by ``mailwire explain CODE``. The meanings are summarised here in our
own words from the RFCs named with each table.
"""

from __future__ import annotations

import re

__all__ = ["explain"]

# RFC 5321 §4.2.2 and §4.2.3 (plus RFC 4954 §6 and RFC 3207 §4 for AUTH/STARTTLS).
SMTP_REPLIES = {
    211: "system status or help reply",
    214: "help text for a human",
    220: "service ready: the greeting (or the go-ahead for STARTTLS, RFC 3207 §4)",
    221: "the server is closing the connection (answer to QUIT)",
    235: "authentication succeeded (RFC 4954 §6)",
    250: "requested action done",
    251: "recipient not local; the server will forward the message",
    252: "cannot verify the user, but will accept and attempt delivery",
    334: "AUTH challenge: send the next base64 response (RFC 4954 §4)",
    354: "go ahead: send the message, end it with <CRLF>.<CRLF>",
    421: "service not available; the server is closing the connection",
    450: "mailbox unavailable for now (busy, or blocked by policy); try later",
    451: "aborted by a local error in processing; try later",
    452: "insufficient storage on the server for now; try later",
    454: "temporary authentication failure (RFC 4954 §6)",
    455: "the server cannot accommodate the parameters now",
    500: "syntax error: command not recognised (or line too long)",
    501: "syntax error in the parameters or arguments",
    502: "command not implemented",
    503: "bad sequence of commands",
    504: "command parameter not implemented",
    530: "authentication required (RFC 4954 §6)",
    534: "authentication mechanism too weak (RFC 4954 §6)",
    535: "authentication credentials invalid (RFC 4954 §6)",
    538: "encryption required for this authentication mechanism (RFC 4954 §6)",
    550: "mailbox unavailable (not found, no access, or refused by policy)",
    551: "user not local; try the address the server gives",
    552: "message exceeds the storage allocation (too big)",
    553: "mailbox name not allowed (bad address syntax)",
    554: "transaction failed (or, as a greeting: no SMTP service here)",
    555: "MAIL FROM / RCPT TO parameters not recognised or not implemented",
}

_SMTP_CLASSES = {
    2: "positive completion: the command succeeded",
    3: "positive intermediate: go on with the next part",
    4: "transient negative: it failed, but the same command may succeed later",
    5: "permanent negative: it failed; do not repeat it unchanged",
}

# RFC 3463 §3 subjects and §3.1-§3.8 details (with RFC 4954 §6, RFC 6531 §3.7.2
# and RFC 8689 §5 additions).
_ENHANCED_SUBJECTS = {
    0: "other or undefined status",
    1: "addressing",
    2: "mailbox",
    3: "mail system",
    4: "network and routing",
    5: "mail delivery protocol",
    6: "message content or media",
    7: "security or policy",
}
_ENHANCED_DETAILS = {
    (0, 0): "other undefined status",
    (1, 0): "other address status",
    (1, 1): "bad destination mailbox address (no such user)",
    (1, 2): "bad destination system address (no such domain)",
    (1, 3): "bad destination mailbox address syntax",
    (1, 4): "destination mailbox address ambiguous",
    (1, 5): "destination address valid",
    (1, 6): "destination mailbox has moved, no forwarding address",
    (1, 7): "bad sender's mailbox address syntax",
    (1, 8): "bad sender's system address",
    (2, 0): "other or undefined mailbox status",
    (2, 1): "mailbox disabled, not accepting messages",
    (2, 2): "mailbox full",
    (2, 3): "message longer than the mailbox allows",
    (2, 4): "mailing list expansion problem",
    (3, 0): "other or undefined mail system status",
    (3, 1): "mail system full",
    (3, 2): "system not accepting network messages",
    (3, 3): "system not capable of the selected features",
    (3, 4): "message too big for the system",
    (3, 5): "system incorrectly configured",
    (4, 0): "other or undefined network or routing status",
    (4, 1): "no answer from the host",
    (4, 2): "bad connection",
    (4, 3): "directory server failure",
    (4, 4): "unable to route",
    (4, 5): "mail system congestion",
    (4, 6): "routing loop detected",
    (4, 7): "delivery time expired",
    (5, 0): "other or undefined protocol status",
    (5, 1): "invalid command",
    (5, 2): "syntax error",
    (5, 3): "too many recipients",
    (5, 4): "invalid command arguments",
    (5, 5): "wrong protocol version",
    (6, 0): "other or undefined media error",
    (6, 1): "media not supported",
    (6, 2): "conversion required and prohibited",
    (6, 3): "conversion required but not supported",
    (6, 4): "conversion with loss performed",
    (6, 5): "conversion failed",
    (6, 7): "non-ASCII addresses not permitted for that sender or recipient (RFC 6531)",
    (7, 0): "other or undefined security status (often: authentication required)",
    (7, 1): "delivery not authorized, message refused",
    (7, 2): "mailing list expansion prohibited",
    (7, 3): "security conversion required but not possible",
    (7, 4): "security features not supported",
    (7, 5): "cryptographic failure",
    (7, 6): "cryptographic algorithm not supported",
    (7, 7): "message integrity failure",
    (7, 8): "authentication credentials invalid (RFC 4954)",
    (7, 9): "authentication mechanism too weak (RFC 4954)",
    (7, 11): "encryption required for the requested authentication mechanism (RFC 4954)",
    (7, 30): "REQUIRETLS support required (RFC 8689)",
}

# RFC 9051 §7.1, RFC 5530, RFC 4315 (UIDPLUS), RFC 7162 (CONDSTORE/QRESYNC).
IMAP_CODES = {
    "ALERT": "a message the server wants shown to the user as is",
    "ALREADYEXISTS": "the mailbox already exists (RFC 5530)",
    "APPENDUID": "UIDVALIDITY and UID of the message just appended (RFC 4315)",
    "AUTHENTICATIONFAILED": "wrong credentials, or the account cannot log in (RFC 5530)",
    "AUTHORIZATIONFAILED": "authenticated, but not allowed to act as that identity (RFC 5530)",
    "BADCHARSET": "the SEARCH charset is not supported; the supported ones may follow",
    "CANNOT": "the operation cannot be done, whatever you try (RFC 5530)",
    "CAPABILITY": "the server's capabilities, sent along to save a round trip",
    "CLIENTBUG": "the server thinks the client sent something wrong (RFC 5530)",
    "CLOSED": "the previously selected mailbox is now closed (RFC 7162)",
    "CONTACTADMIN": "the user should contact the system administrator (RFC 5530)",
    "COPYUID": "UIDVALIDITY and the UIDs of the copied messages, old and new (RFC 4315)",
    "CORRUPTION": "the server found its data corrupt (RFC 5530)",
    "EXPIRED": "the credentials or account have expired (RFC 5530)",
    "EXPUNGEISSUED": "some of the messages were expunged meanwhile (RFC 5530)",
    "HIGHESTMODSEQ": "the highest mod-sequence of the mailbox (RFC 7162)",
    "INUSE": "the resource is in use by someone else; try later (RFC 5530)",
    "LIMIT": "a server limit was reached (RFC 5530)",
    "MODIFIED": "messages changed since UNCHANGEDSINCE and were not stored (RFC 7162)",
    "NOMODSEQ": "the mailbox does not keep mod-sequences (RFC 7162)",
    "NONEXISTENT": "no such mailbox or other object (RFC 5530)",
    "NOPERM": "no permission for this operation (RFC 5530)",
    "OVERQUOTA": "the quota is exceeded (RFC 5530)",
    "PARSE": "the server could not parse a message's header or MIME structure",
    "PERMANENTFLAGS": "the flags the client may change permanently",
    "PRIVACYREQUIRED": "the operation needs a private channel such as TLS (RFC 5530)",
    "READ-ONLY": "the mailbox is selected read-only",
    "READ-WRITE": "the mailbox is selected read-write",
    "SERVERBUG": "the server failed on its own fault (RFC 5530)",
    "TRYCREATE": "the target mailbox does not exist; CREATE it first",
    "UIDNEXT": "the UID the next message will get",
    "UIDNOTSTICKY": "UIDs are not kept across sessions for this mailbox (RFC 4315)",
    "UIDVALIDITY": "the UID validity value: when it changes, cached UIDs are void",
    "UNAVAILABLE": "a subsystem is down for now; try later (RFC 5530)",
    "UNSEEN": "the sequence number of the first unseen message (IMAP4rev1 only)",
    "WEBALERT": "a URL the user should open to fix the account (RFC 8437)",
}

# RFC 2449 §8, RFC 3206, RFC 6856.
POP3_CODES = {
    "IN-USE": "the mailbox is locked by another session; try later (RFC 2449)",
    "LOGIN-DELAY": "logged in too soon after the last login; wait (RFC 2449)",
    "SYS/TEMP": "a temporary system problem; try later (RFC 3206)",
    "SYS/PERM": "a permanent system problem; do not retry as is (RFC 3206)",
    "AUTH": "the credentials were refused (RFC 3206)",
    "UTF8": "the request needs UTF-8 mode, or used non-ASCII without it (RFC 6856)",
}


def _enhanced(code: str) -> str | None:
    match = re.fullmatch(r"([245])\.(\d{1,3})\.(\d{1,3})", code)
    if match is None:
        return None
    klass, subject, detail = int(match[1]), int(match[2]), int(match[3])
    parts = [
        f"{code}: enhanced status code (RFC 3463)",
        f"  class {klass}: {_SMTP_CLASSES[klass]}",
        f"  subject {subject}: {_ENHANCED_SUBJECTS.get(subject, 'not defined by RFC 3463')}",
    ]
    meaning = _ENHANCED_DETAILS.get((subject, detail))
    if meaning:
        parts.append(f"  detail {subject}.{detail}: {meaning}")
    else:
        parts.append(f"  detail {subject}.{detail}: not registered in the tables known here")
    return "\n".join(parts)


def explain(code: str) -> str | None:
    """A few lines explaining ``code``, or ``None`` when it is not known.

    Accepts an SMTP reply code (``550``), an enhanced status code (``5.1.1``),
    an IMAP response code (``TRYCREATE``) or a POP3 one (``IN-USE``).
    """
    text = code.strip().strip("[]")
    if re.fullmatch(r"[2-5][0-9][0-9]", text):
        number = int(text)
        known = SMTP_REPLIES.get(number)
        lines = [f"{number}: SMTP reply (RFC 5321 §4.2)"]
        if known:
            lines.append(f"  {known}")
        lines.append(f"  class {number // 100}: {_SMTP_CLASSES[number // 100]}")
        return "\n".join(lines)
    enhanced = _enhanced(text)
    if enhanced is not None:
        return enhanced
    upper = text.upper()
    found = []
    if upper in IMAP_CODES:
        found.append(f"{upper}: IMAP response code\n  {IMAP_CODES[upper]}")
    if upper in POP3_CODES:
        found.append(f"{upper}: POP3 response code\n  {POP3_CODES[upper]}")
    return "\n".join(found) if found else None
