"""Providers, tokens and PKCE: the values the flows pass around, with no I/O."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import time
from typing import Final

__all__ = [
    "GMAIL_SCOPE",
    "GOOGLE",
    "MICROSOFT",
    "OUTLOOK_IMAP_SCOPE",
    "OUTLOOK_OFFLINE_ACCESS",
    "OUTLOOK_POP_SCOPE",
    "OUTLOOK_SMTP_SCOPE",
    "DeviceAuthorization",
    "Provider",
    "Token",
    "code_challenge",
    "make_code_verifier",
    "microsoft",
]

#: The one scope for Gmail over IMAP, POP and SMTP (Google, "OAuth 2.0 Mechanism").
GMAIL_SCOPE: Final = "https://mail.google.com/"
#: Exchange Online / Outlook.com scopes, one per protocol (Microsoft, "Authenticate
#: an IMAP, POP or SMTP connection using OAuth").
OUTLOOK_SMTP_SCOPE: Final = "https://outlook.office.com/SMTP.Send"
OUTLOOK_IMAP_SCOPE: Final = "https://outlook.office.com/IMAP.AccessAsUser.All"
OUTLOOK_POP_SCOPE: Final = "https://outlook.office.com/POP.AccessAsUser.All"
#: Asks Microsoft for a refresh token as well.
OUTLOOK_OFFLINE_ACCESS: Final = "offline_access"

#: RFC 7636 §4.1: the characters of a code verifier.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclasses.dataclass(frozen=True)
class Provider:
    """Where an authorization server's endpoints are, and the mail scopes.

    Attributes:
        name: for messages.
        authorization_endpoint: where the browser goes (RFC 6749 §3.1).
        token_endpoint: where codes and refresh tokens become access tokens
            (RFC 6749 §3.2).
        device_authorization_endpoint: RFC 8628 §3.1, or ``None``.
        scopes: what to ask for when the caller names no scopes.
    """

    name: str
    authorization_endpoint: str
    token_endpoint: str
    device_authorization_endpoint: str | None = None
    scopes: tuple[str, ...] = ()


#: Google (Gmail, Google Workspace). Google's device flow accepts only a short list
#: of scopes, and the Gmail scope is not on it: use :meth:`OAuth2Client.loopback_flow`.
GOOGLE: Final = Provider(
    name="Google",
    authorization_endpoint="https://accounts.google.com/o/oauth2/v2/auth",
    token_endpoint="https://oauth2.googleapis.com/token",  # noqa: S106 (a URL)
    device_authorization_endpoint="https://oauth2.googleapis.com/device/code",
    scopes=(GMAIL_SCOPE,),
)


def microsoft(tenant: str = "common") -> Provider:
    """The Microsoft identity platform (v2.0 endpoints) for one tenant.

    Args:
        tenant: ``"common"`` (work, school and personal accounts),
            ``"organizations"``, ``"consumers"``, or a tenant's ID or domain.

    Returns:
        A provider asking for SMTP, IMAP and POP access and a refresh token.

    Raises:
        ValueError: the tenant is not a plain name.
    """
    if not tenant or not all(char.isalnum() or char in "-." for char in tenant):
        raise ValueError("a Microsoft tenant is a GUID, a domain or common/organizations/consumers")
    base = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
    return Provider(
        name=f"Microsoft ({tenant})",
        authorization_endpoint=f"{base}/authorize",
        token_endpoint=f"{base}/token",
        device_authorization_endpoint=f"{base}/devicecode",
        scopes=(OUTLOOK_SMTP_SCOPE, OUTLOOK_IMAP_SCOPE, OUTLOOK_POP_SCOPE, OUTLOOK_OFFLINE_ACCESS),
    )


#: Microsoft 365 and Outlook.com accounts alike (tenant ``common``).
MICROSOFT: Final = microsoft()


@dataclasses.dataclass(frozen=True, repr=False)
class Token:
    """An access token and what came with it (RFC 6749 §5.1).

    ``repr`` shows the scope, the expiry and whether a refresh token is
    present, never the tokens themselves.

    Attributes:
        access_token: the bearer token for XOAUTH2 / OAUTHBEARER (a secret).
        expires_at: when it expires, in seconds since the epoch, or ``None``
            when the server did not say.
        refresh_token: for :meth:`OAuth2Client.refresh`, or ``None`` (a
            secret that lasts: store it like a password).
        scope: the scopes granted.
        token_type: always ``"Bearer"``.
    """

    access_token: str
    expires_at: float | None = None
    refresh_token: str | None = None
    scope: tuple[str, ...] = ()
    token_type: str = "Bearer"  # noqa: S105 (RFC 6750's type name)

    def __repr__(self) -> str:
        expiry = (
            "unknown"
            if self.expires_at is None
            else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expires_at))
        )
        refresh = "yes" if self.refresh_token else "no"
        scope = " ".join(self.scope)
        return f"<Token {self.token_type} scope={scope!r} expires={expiry} refresh={refresh}>"

    __str__ = __repr__

    def expired(self, now: float | None = None, *, margin: float = 60.0) -> bool:
        """Whether the token has expired, or will within ``margin`` seconds.

        A token whose lifetime is unknown is taken as still valid: the server
        will say otherwise when it is used.
        """
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) + margin >= self.expires_at


@dataclasses.dataclass(frozen=True)
class DeviceAuthorization:
    """What the device authorization endpoint answered (RFC 8628 §3.2).

    Show the user ``verification_uri`` and ``user_code`` (or
    ``verification_uri_complete``, which holds both); the device code stays
    out of ``repr``.
    """

    user_code: str
    verification_uri: str
    expires_in: int
    interval: int
    verification_uri_complete: str | None = None
    message: str | None = None
    device_code: str = dataclasses.field(default="", repr=False)


# --------------------------------------------------------------------------
# PKCE (RFC 7636)


def make_code_verifier(nbytes: int = 48) -> str:
    """A fresh PKCE code verifier: ``nbytes`` random octets, base64url (§4.1).

    48 octets give 64 characters; the RFC allows 43 to 128, i.e. 32 to 96 octets.
    """
    if not 32 <= nbytes <= 96:
        raise ValueError("a code verifier needs 32 to 96 random octets (RFC 7636 §4.1)")
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


def code_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))``, no padding (RFC 7636 §4.2, S256).

    Raises:
        ValueError: the verifier is not 43-128 unreserved characters (§4.1).
    """
    if not 43 <= len(verifier) <= 128 or not set(verifier) <= _UNRESERVED:
        raise ValueError("a code verifier is 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
