"""The lab's two mail accounts and their passwords, made fresh for each run.

The passwords are random (``secrets``) and live only as long as the lab: the
servers listen on loopback, but another local user could still connect there
while the demo runs, so a well-known password would let them in. The demo
never prints them; the transcripts redact them (AUTH payloads, PASS, LOGIN),
and ``--keep`` writes them to 0600 files in the lab directory instead of onto
the screen.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

__all__ = ["DOMAIN", "PASSWORD_ENV", "Account", "make_accounts"]

#: RFC 2606 reserves .test: no address here can ever resolve or leave the machine.
DOMAIN = "example.test"

#: Set this to choose the lab password instead of a random one (the tests use
#: it to check that the password never appears in the output).
PASSWORD_ENV = "MAILWIRE_DEMO_PASSWORD"  # noqa: S105 - a variable name


@dataclasses.dataclass(frozen=True)
class Account:
    """A login on the lab servers: ``name`` is the login and the Maildir owner."""

    name: str
    password: str = dataclasses.field(repr=False)

    @property
    def address(self) -> str:
        return f"{self.name}@{DOMAIN}"

    def write_password_file(self, directory: Path) -> Path:
        """Write the password to ``directory/<name>.password`` (mode 0600)."""
        path = directory / f"{self.name}.password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(self.password + "\n")
        return path


def make_accounts() -> dict[str, Account]:
    """alice (the sender) and bob (the reader), each with a fresh password."""
    chosen = os.environ.get(PASSWORD_ENV)
    return {name: Account(name, chosen or secrets.token_urlsafe(18)) for name in ("alice", "bob")}
