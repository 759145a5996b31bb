"""The lab's mail accounts, the same in every lab (aiosmtpd, Dovecot, Postfix)."""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN = "example.test"  # RFC 2606: .test never resolves, so nothing can leave by mistake


@dataclass(frozen=True)
class LabUser:
    """A login on the lab servers.

    ``name`` is the login and the Maildir owner; Dovecot also accepts the full
    address, in any case (``auth_username_format = %Ln``).
    """

    name: str
    password: str

    @property
    def address(self) -> str:
        return f"{self.name}@{DOMAIN}"

    @property
    def password_bytes(self) -> bytes:
        """The password as it goes on the wire (UTF-8, as RFC 4616 and RFC 6856 want)."""
        return self.password.encode("utf-8")


ALICE = LabUser("alice", "alice-password")
# Deliberately non-ASCII: smtplib.login and imaplib.login cannot send it, a
# client that encodes SASL as UTF-8 can.
BOB = LabUser("bob", "pässwörd-ñ€")
USERS: dict[str, LabUser] = {user.name: user for user in (ALICE, BOB)}


def find_user(login: str | bytes) -> LabUser | None:
    """The user a login names: ``alice``, ``alice@example.test``, ``Alice@Example.Test``."""
    if isinstance(login, bytes):
        login = login.decode("utf-8", "replace")
    local, at, domain = login.lower().rpartition("@")
    if at and domain != DOMAIN:
        return None
    return USERS.get(local if at else login.lower())
