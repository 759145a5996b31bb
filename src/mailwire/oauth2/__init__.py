"""OAuth 2.0 access tokens for XOAUTH2 and OAUTHBEARER, with the standard library.

Gmail and Outlook take an OAuth 2.0 access token where a password used to go.
The SASL mechanisms that carry it live in :mod:`mailwire.sasl`, and every
mailwire client takes the token as ``token=``; this module only obtains it::

    google = OAuth2Client(GOOGLE, client_id, client_secret=client_secret)
    token = google.loopback_flow()              # the user signs in once
    with smtp.Client("smtp.gmail.com") as client:
        client.login("me@gmail.com", token=token.access_token, mechanisms=["XOAUTH2"])
    token = google.refresh(token)               # later, without the user

Three grants are implemented:

- the device authorization grant (RFC 8628): the user opens a page on any
  device and types a short code, while :meth:`OAuth2Client.device_flow`
  polls the token endpoint at the pace the server asks for;
- the authorization code grant (RFC 6749 §4.1) with PKCE S256 (RFC 7636)
  and a loopback redirect (RFC 8252 §7.3): a one-shot HTTP listener on
  127.0.0.1 and an ephemeral port receives the browser's redirect, checks
  ``state``, and the code is exchanged with its verifier;
- the refresh token grant (RFC 6749 §6).

What it guards against:

- Endpoints must be ``https://`` (RFC 6749 §3.1, §3.2); plain ``http://`` is
  taken only for a loopback host, which is what a local test server is.
- A response body is read up to ``max_response_bytes`` and no further; every
  socket operation has ``timeout``; a redirect from the token endpoint is not
  followed (it would repeat the secrets to another URL).
- Nothing secret (access or refresh token, authorization code, PKCE
  verifier, device code, client secret) appears in a ``repr``, an exception
  text or a log line: the loopback listener logs nothing, since its request
  line carries the authorization code, and the server's error descriptions
  are quoted with any secret we sent blanked out.

Provider facts (endpoints and mail scopes) are in :data:`GOOGLE` and
:func:`microsoft`; docs/gmail-outlook.md walks through registering a client.

The modules: ``_model`` (providers, tokens, PKCE; no I/O), ``_wire`` (the
HTTP requests and what is accepted back), ``_loopback`` (the redirect
listener), ``_client`` (the three grants), ``_errors``.
"""

from __future__ import annotations

from mailwire.oauth2._client import (
    DEVICE_CODE_GRANT,
    OAuth2Client,
    open_in_browser,
    print_authorization_url,
    print_device_instructions,
)
from mailwire.oauth2._errors import (
    AuthorizationDenied,
    AuthorizationExpired,
    MalformedResponse,
    OAuth2Error,
    StateMismatch,
    TransportError,
)
from mailwire.oauth2._model import (
    GMAIL_SCOPE,
    GOOGLE,
    MICROSOFT,
    OUTLOOK_IMAP_SCOPE,
    OUTLOOK_OFFLINE_ACCESS,
    OUTLOOK_POP_SCOPE,
    OUTLOOK_SMTP_SCOPE,
    DeviceAuthorization,
    Provider,
    Token,
    code_challenge,
    make_code_verifier,
    microsoft,
)

__all__ = [
    "DEVICE_CODE_GRANT",
    "GMAIL_SCOPE",
    "GOOGLE",
    "MICROSOFT",
    "OUTLOOK_IMAP_SCOPE",
    "OUTLOOK_OFFLINE_ACCESS",
    "OUTLOOK_POP_SCOPE",
    "OUTLOOK_SMTP_SCOPE",
    "AuthorizationDenied",
    "AuthorizationExpired",
    "DeviceAuthorization",
    "MalformedResponse",
    "OAuth2Client",
    "OAuth2Error",
    "Provider",
    "StateMismatch",
    "Token",
    "TransportError",
    "code_challenge",
    "make_code_verifier",
    "microsoft",
    "open_in_browser",
    "print_authorization_url",
    "print_device_instructions",
]
