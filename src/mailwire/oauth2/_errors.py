"""What the OAuth 2.0 helper raises: one base class, and the cases worth catching."""

from __future__ import annotations

from mailwire.errors import MailwireError, SecurityError

__all__ = [
    "AuthorizationDenied",
    "AuthorizationExpired",
    "MalformedResponse",
    "OAuth2Error",
    "StateMismatch",
    "TransportError",
]


class OAuth2Error(MailwireError):
    """The authorization server refused, or could not be used.

    No mail connection is involved. The text names the endpoint, the OAuth
    ``error`` code and the server's description (escaped, shortened, with any
    secret mailwire sent blanked out), never a token, code or client secret.

    Attributes:
        error: the OAuth error code (``"invalid_grant"``...) or ``None``.
        description: the server's ``error_description``, escaped, or ``None``.
        status: the HTTP status of the response, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        description: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.description = description
        self.status = status


class AuthorizationDenied(OAuth2Error):
    """The user (or an administrator's policy) said no: ``access_denied``.

    Microsoft's device flow calls it ``authorization_declined``. Start again
    only if the user asks to.
    """


class AuthorizationExpired(OAuth2Error):
    """The user did not finish in time: ``expired_token``, or our own deadline.

    Start a new flow; the old device code or listener is gone.
    """


class MalformedResponse(OAuth2Error):
    """The server's answer was not what RFC 6749 describes, or was too large.

    Attributes:
        limit: the byte bound that was exceeded, when that was the problem.
    """

    def __init__(self, message: str, *, limit: int | None = None, status: int | None = None):
        super().__init__(message, status=status)
        self.limit = limit


class StateMismatch(OAuth2Error, SecurityError):
    """The redirect did not carry the ``state`` this flow sent (RFC 6749 §10.12).

    Someone other than the authorization server, answering for it, reached
    the loopback listener (a forged redirect, cross-site request forgery).
    The code it carried was NOT exchanged.
    """


class TransportError(OAuth2Error):
    """The endpoint could not be reached, or did not answer in time.

    Certificate verification failures are not wrapped:
    ``ssl.SSLCertVerificationError`` propagates as it does everywhere in
    mailwire.
    """
