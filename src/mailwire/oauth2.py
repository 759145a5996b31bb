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
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import http.server
import ipaddress
import json
import secrets
import socketserver
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final

from mailwire.errors import MailwireError, SecurityError

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

#: The one scope for Gmail over IMAP, POP and SMTP (Google, "OAuth 2.0 Mechanism").
GMAIL_SCOPE: Final = "https://mail.google.com/"
#: Exchange Online / Outlook.com scopes, one per protocol (Microsoft, "Authenticate
#: an IMAP, POP or SMTP connection using OAuth").
OUTLOOK_SMTP_SCOPE: Final = "https://outlook.office.com/SMTP.Send"
OUTLOOK_IMAP_SCOPE: Final = "https://outlook.office.com/IMAP.AccessAsUser.All"
OUTLOOK_POP_SCOPE: Final = "https://outlook.office.com/POP.AccessAsUser.All"
#: Asks Microsoft for a refresh token as well.
OUTLOOK_OFFLINE_ACCESS: Final = "offline_access"

#: RFC 8628 §3.4: the grant type of a device access token request.
DEVICE_CODE_GRANT: Final = "urn:ietf:params:oauth:grant-type:device_code"

#: RFC 8628 §3.2: the polling interval when the server names none.
_DEFAULT_INTERVAL = 5
#: Bound on how long a device flow polls, whatever ``expires_in`` says (Google
#: gives 1800 s, Microsoft 900 s): a server cannot keep us polling for a day.
_MAX_DEVICE_WAIT = 3600
#: Form fields whose values are secrets, blanked out of server texts we quote.
_SECRET_FIELDS = ("client_secret", "code", "code_verifier", "device_code", "refresh_token")
#: RFC 6750 §2.1 b64token: what an access token may be made of. Anything else could
#: not travel in XOAUTH2 or OAUTHBEARER (``\x01`` is their separator).
_B64TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")
#: RFC 7636 §4.1: the characters of a code verifier.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


# --------------------------------------------------------------------------
# Errors


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


# --------------------------------------------------------------------------
# Providers and tokens


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


# --------------------------------------------------------------------------
# What the user sees


def print_device_instructions(authorization: DeviceAuthorization) -> None:
    """Tell the user, on standard error, where to go and which code to type."""
    print(
        f"To sign in, open {authorization.verification_uri} and enter the code "
        f"{authorization.user_code}",
        file=sys.stderr,
        flush=True,
    )


def print_authorization_url(url: str) -> None:
    """Print the authorization URL on standard error, for the user to open."""
    print(f"Open this address in a browser to sign in:\n{url}", file=sys.stderr, flush=True)


def open_in_browser(url: str) -> None:
    """Print the URL, and open it in the system browser (:mod:`webbrowser`)."""
    import webbrowser

    print_authorization_url(url)
    webbrowser.open(url)


# --------------------------------------------------------------------------
# Helpers


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_endpoint(url: str, what: str) -> None:
    """RFC 6749 §3.1, §3.2: TLS for the endpoints; loopback may be plain HTTP."""
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise ValueError(f"{what} must not contain spaces or control characters")
    parts = urllib.parse.urlsplit(url)
    if parts.fragment:
        raise ValueError(f"{what} must not have a fragment (RFC 6749 §3.1)")
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host and _is_loopback(host):
        return
    raise ValueError(f"{what} must be an https:// URL (plain http only on loopback): {url!r}")


def _printable(value: object) -> bool:
    return isinstance(value, str) and value.isprintable()


def _quote(text: str, hidden: Iterable[str], limit: int = 200) -> str:
    """Server text made safe for a message: secrets blanked, escaped, shortened."""
    for secret in hidden:
        if secret:
            # As sent, and as the form encoding sent it (a server may echo the form).
            for form in {secret, urllib.parse.quote_plus(secret), urllib.parse.quote(secret, "")}:
                text = text.replace(form, "<redacted>")
    if len(text) > limit:
        text = text[:limit] + "..."
    return ascii(text)


def _scopes(value: Iterable[str] | str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    scopes = tuple(value.split()) if isinstance(value, str) else tuple(value)
    for scope in scopes:
        # RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        if not scope or any(not 0x21 <= ord(c) <= 0x7E or c in '"\\' for c in scope):
            raise ValueError(f"bad scope {scope!r} (RFC 6749 §3.3)")
    return scopes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx from an OAuth endpoint is an answer, not a place to send the form again."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# --------------------------------------------------------------------------
# The client


class OAuth2Client:
    """One registered OAuth client at one provider.

    Args:
        provider: the endpoints and default scopes (:data:`GOOGLE`,
            :data:`MICROSOFT`, or your own :class:`Provider`).
        client_id: the client ID the provider gave the registration.
        client_secret: for providers that issue one to installed apps
            (Google does; it is not really secret there, RFC 8252 §8.5).
        timeout: seconds any one socket operation with the endpoints may take.
        max_response_bytes: the largest response body read.
        ssl_context: for the HTTPS requests; ``None`` verifies against the
            system store.
        clock: monotonic seconds, for the device flow's deadlines.
        sleep: waits between device polls (tests pass a fake clock's sleep).
        wall_clock: seconds since the epoch, for :attr:`Token.expires_at`.

    Raises:
        ValueError: an endpoint is not ``https://`` (nor loopback), or the
            client ID is empty or has control characters.
    """

    _user_agent: ClassVar[str] = "mailwire-oauth2"

    def __init__(
        self,
        provider: Provider,
        client_id: str,
        *,
        client_secret: str | None = None,
        timeout: float = 30.0,
        max_response_bytes: int = 64 * 1024,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id or not client_id.isprintable():
            raise ValueError("client_id must be non-empty printable text")
        _check_endpoint(provider.authorization_endpoint, "authorization_endpoint")
        _check_endpoint(provider.token_endpoint, "token_endpoint")
        if provider.device_authorization_endpoint is not None:
            _check_endpoint(provider.device_authorization_endpoint, "device_authorization_endpoint")
        self.provider = provider
        self.client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._opener = urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=ssl_context or _default_context())
        )
        # A proxy must not see a loopback endpoint's traffic (and could not reach it).
        self._loopback_opener = urllib.request.build_opener(
            _NoRedirect(),
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl_context or _default_context()),
        )

    def __repr__(self) -> str:
        secret = " with client secret" if self._client_secret else ""
        return f"<OAuth2Client {self.provider.name} client_id={self.client_id!r}{secret}>"

    # ---------------------------------------------------------------- device flow

    def device_flow(
        self,
        scopes: Iterable[str] | str | None = None,
        *,
        show: Callable[[DeviceAuthorization], object] = print_device_instructions,
    ) -> Token:
        """Run the device authorization grant (RFC 8628) to the end.

        Args:
            scopes: what to ask for; the provider's mail scopes by default.
            show: called once with the :class:`DeviceAuthorization`, to tell
                the user where to go; the default prints to standard error.

        Returns:
            The token, once the user has approved.

        Raises:
            AuthorizationDenied, AuthorizationExpired, MalformedResponse,
            TransportError, OAuth2Error (any other refusal).
        """
        authorization = self.start_device_authorization(scopes)
        show(authorization)
        return self.poll_device_token(authorization, scopes)

    def start_device_authorization(
        self, scopes: Iterable[str] | str | None = None
    ) -> DeviceAuthorization:
        """Ask for a device code and a user code (RFC 8628 §3.1, §3.2)."""
        endpoint = self.provider.device_authorization_endpoint
        if endpoint is None:
            raise OAuth2Error(f"{self.provider.name} has no device authorization endpoint")
        form = self._client_form({"scope": " ".join(_scopes(scopes, self.provider.scopes))})
        status, body = self._post(endpoint, form, "device authorization")
        if status != 200 or "error" in body:
            raise self._refusal("device authorization", status, body, form)
        # Google says verification_url, as drafts of RFC 8628 did.
        uri = body.get("verification_uri", body.get("verification_url"))
        code, user_code = body.get("device_code"), body.get("user_code")
        if not (_printable(code) and _printable(user_code) and _printable(uri)):
            raise MalformedResponse(
                "device authorization: device_code, user_code and verification_uri must be "
                "printable strings (RFC 8628 §3.2)",
                status=status,
            )
        assert isinstance(code, str)
        assert isinstance(user_code, str)
        assert isinstance(uri, str)
        complete = body.get("verification_uri_complete")
        message = body.get("message")
        return DeviceAuthorization(
            user_code=user_code,
            verification_uri=uri,
            expires_in=_seconds(body.get("expires_in"), "expires_in", required=True),
            interval=_seconds(body.get("interval"), "interval") or _DEFAULT_INTERVAL,
            verification_uri_complete=complete if _printable(complete) else None,
            message=message if _printable(message) else None,
            device_code=code,
        )

    def poll_device_token(
        self, authorization: DeviceAuthorization, scopes: Iterable[str] | str | None = None
    ) -> Token:
        """Poll the token endpoint until the user has decided (RFC 8628 §3.4, §3.5).

        Waits ``interval`` seconds before each request; ``slow_down`` adds
        5 seconds to it for good. Gives up when the device code expires.
        """
        requested = _scopes(scopes, self.provider.scopes)
        wait = min(authorization.expires_in, _MAX_DEVICE_WAIT)
        deadline = self._clock() + wait
        interval = max(1, authorization.interval)
        form = self._client_form(
            {"grant_type": DEVICE_CODE_GRANT, "device_code": authorization.device_code}
        )
        # Each poll costs at least one interval, which only grows: this bounds the loop
        # even with a clock that does not move.
        for _ in range(wait // interval + 2):
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            self._sleep(min(interval, remaining))
            status, body = self._post(self.provider.token_endpoint, form, "device token")
            error = body.get("error")
            if status == 200 and error is None:
                return self._token(body, requested)
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5  # §3.5: for this and all later requests
                continue
            raise self._refusal("device token", status, body, form)
        raise AuthorizationExpired(
            f"device token: the user did not approve within {wait} s; start again",
            error="expired_token",
        )

    # -------------------------------------------------------------- loopback flow

    def loopback_flow(
        self,
        scopes: Iterable[str] | str | None = None,
        *,
        open_url: Callable[[str], object] = print_authorization_url,
        port: int = 0,
        redirect_host: str = "127.0.0.1",
        wait: float = 300.0,
        extra_params: Mapping[str, str] | None = None,
    ) -> Token:
        """Authorization code grant with PKCE and a loopback redirect (RFC 8252 §7.3).

        A listener on 127.0.0.1 (port ``port``, ephemeral by default) waits
        for the browser's redirect; ``open_url`` is called with the
        authorization URL and must return without waiting for the redirect.
        The first request to the redirect path ends the wait (other paths get
        404); its ``state`` must be the one sent, and only then is the code
        exchanged, with the PKCE verifier (RFC 7636 §4.5).

        Args:
            scopes: what to ask for; the provider's mail scopes by default.
            open_url: shows or opens the URL; the default prints it, and
                :func:`open_in_browser` also starts the system browser.
            port: the listener's port; 0 lets the system choose.
            redirect_host: the host in ``redirect_uri``: ``127.0.0.1``
                (RFC 8252 §8.3), or ``localhost`` for a registration that
                names it. The listener is on 127.0.0.1 either way.
            wait: seconds to wait for the redirect.
            extra_params: more authorization request parameters
                (``login_hint``, ``prompt``...).

        Raises:
            StateMismatch, AuthorizationDenied, AuthorizationExpired (no
            redirect within ``wait``), MalformedResponse, TransportError,
            OAuth2Error.
        """
        if redirect_host not in ("127.0.0.1", "localhost"):
            raise ValueError("redirect_host must be 127.0.0.1 or localhost (RFC 8252 §7.3)")
        requested = _scopes(scopes, self.provider.scopes)
        verifier = make_code_verifier()
        state = secrets.token_urlsafe(32)
        with _Listener(port) as listener:
            redirect_uri = f"http://{redirect_host}:{listener.port}/"
            params = {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(requested),
                "state": state,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
                **(extra_params or {}),
            }
            separator = "&" if "?" in self.provider.authorization_endpoint else "?"
            url = self.provider.authorization_endpoint + separator + urllib.parse.urlencode(params)
            open_url(url)
            query = listener.wait(wait)
        if query is None:
            raise AuthorizationExpired(
                f"authorization: no redirect reached {redirect_uri} within {wait:g} s"
            )
        code = self._redirect_code(query, state)
        form = self._client_form(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        )
        status, body = self._post(self.provider.token_endpoint, form, "code exchange")
        if status != 200 or "error" in body:
            raise self._refusal("code exchange", status, body, form)
        return self._token(body, requested)

    def _redirect_code(self, query: str, state: str) -> str:
        """RFC 6749 §4.1.2: the state first, then the error or the code."""
        try:
            fields = urllib.parse.parse_qs(query, keep_blank_values=True, max_num_fields=32)
        except ValueError:
            raise MalformedResponse("authorization: the redirect has too many parameters") from None
        if any(len(values) > 1 for values in fields.values()):
            # §3.1: request and response parameters MUST NOT appear more than once.
            raise MalformedResponse("authorization: a redirect parameter appears twice")
        received = fields.get("state", [""])[0]
        if not hmac.compare_digest(received.encode(), state.encode()):
            raise StateMismatch(
                "authorization: the redirect carried a state this flow did not send (forged "
                "redirect or cross-site request forgery, RFC 6749 §10.12); nothing was exchanged"
            )
        if "error" in fields:
            body = {key: values[0] for key, values in fields.items() if key != "state"}
            raise self._refusal("authorization", None, body, {"code": fields.get("code", [""])[0]})
        code = fields.get("code", [""])[0]
        if not code or not code.isprintable():
            raise MalformedResponse("authorization: the redirect has no code")
        return code

    # ------------------------------------------------------------------- refresh

    def refresh(self, token: Token | str, scopes: Iterable[str] | str | None = None) -> Token:
        """Get a new access token with a refresh token (RFC 6749 §6).

        Args:
            token: a :class:`Token` holding a refresh token, or the refresh
                token itself.
            scopes: a subset of the granted scopes, or ``None`` for all.

        Returns:
            The new token. When the server issues no new refresh token (Google
            does not), the old one is kept in it.

        Raises:
            ValueError: no refresh token.
            OAuth2Error: refused (``invalid_grant``: revoked or expired; run a
                flow again), MalformedResponse, TransportError.
        """
        refresh_token = token.refresh_token if isinstance(token, Token) else token
        if not refresh_token:
            raise ValueError("no refresh token: run device_flow() or loopback_flow() first")
        fields = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scopes is not None:
            fields["scope"] = " ".join(_scopes(scopes, ()))
        form = self._client_form(fields)
        status, body = self._post(self.provider.token_endpoint, form, "refresh")
        if status != 200 or "error" in body:
            raise self._refusal("refresh", status, body, form)
        granted = token.scope if isinstance(token, Token) else self.provider.scopes
        fresh = self._token(body, _scopes(scopes, granted))
        if fresh.refresh_token is None:
            fresh = dataclasses.replace(fresh, refresh_token=refresh_token)
        return fresh

    # ------------------------------------------------------------------- HTTP

    def _client_form(self, fields: dict[str, str]) -> dict[str, str]:
        form = {**fields, "client_id": self.client_id}
        if self._client_secret is not None:
            # RFC 6749 §2.3.1 allows the secret in the body; Google expects it there.
            form["client_secret"] = self._client_secret
        return form

    def _post(self, url: str, form: Mapping[str, str], what: str) -> tuple[int, dict[str, Any]]:
        """POST a form; return the status and the JSON object of the answer."""
        # S310: _check_endpoint allowed only https:// and loopback http:// URLs.
        request = urllib.request.Request(  # noqa: S310
            url,
            data=urllib.parse.urlencode(form).encode("ascii"),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "User-Agent": self._user_agent,
            },
        )
        host = urllib.parse.urlsplit(url).hostname or ""
        opener = self._loopback_opener if _is_loopback(host) else self._opener
        try:
            response = opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            response = exc  # a 4xx carries the OAuth error object (RFC 6749 §5.2)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise exc.reason from None
            raise TransportError(f"{what}: cannot reach {url}: {exc.reason}") from None
        except (TimeoutError, OSError) as exc:
            raise TransportError(f"{what}: {url} did not answer: {exc}") from None
        with response:
            status = int(response.status or 0)
            try:
                data = self._read(response, what, status)
            except (TimeoutError, OSError) as exc:
                raise TransportError(f"{what}: reading the answer of {url} failed: {exc}") from None
        if 300 <= status < 400:
            raise MalformedResponse(f"{what}: {url} answered with a redirect (HTTP {status})")
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            if status != 200:
                raise OAuth2Error(f"{what}: {url} answered HTTP {status}", status=status)
            # The body is not quoted: it might be a token in some other format.
            raise MalformedResponse(
                f"{what}: the answer is not a JSON object ({len(data)} bytes, HTTP {status})",
                status=status,
            )
        return status, body

    def _read(self, response: Any, what: str, status: int) -> bytes:
        limit = self.max_response_bytes
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            raise MalformedResponse(
                f"{what}: the answer declares {int(length)} bytes, over the {limit}-byte limit",
                limit=limit,
                status=status,
            )
        data = response.read(limit + 1)
        if len(data) > limit:
            raise MalformedResponse(
                f"{what}: the answer is over the {limit}-byte limit; stopped reading",
                limit=limit,
                status=status,
            )
        return bytes(data)

    def _refusal(
        self, what: str, status: int | None, body: Mapping[str, Any], sent: Mapping[str, str]
    ) -> OAuth2Error:
        """The exception for an OAuth error object (RFC 6749 §5.2, RFC 8628 §3.5)."""
        hidden = [value for key, value in sent.items() if key in _SECRET_FIELDS]
        error = body.get("error")
        # §5.2: error = 1*( %x20-21 / %x23-5B / %x5D-7E )
        if (
            not isinstance(error, str)
            or not error
            or not error.isascii()
            or not error.isprintable()
        ):
            return MalformedResponse(
                f"{what}: refused without a valid OAuth error code (HTTP {status})", status=status
            )
        code = _quote(error, hidden, 60)[1:-1]
        raw = body.get("error_description")
        description = _quote(raw, hidden) if isinstance(raw, str) else None
        message = f"{what}: {code}" + (f" {description}" if description else "")
        if status is not None:
            message += f" (HTTP {status})"
        kind: type[OAuth2Error] = OAuth2Error
        if error in ("access_denied", "authorization_declined"):
            kind = AuthorizationDenied
        elif error == "expired_token":
            kind = AuthorizationExpired
        return kind(message, error=code, description=description, status=status)

    def _token(self, body: Mapping[str, Any], requested: tuple[str, ...]) -> Token:
        """RFC 6749 §5.1: check and keep a successful token response."""
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise MalformedResponse("token: the answer has no access_token")
        # RFC 6750 §2.1 b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
        if not set(access.rstrip("=")) <= _B64TOKEN or not access.rstrip("="):
            raise MalformedResponse(
                "token: the access_token has characters a bearer token cannot have (RFC 6750 §2.1)"
            )
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise MalformedResponse(
                f"token: token_type must be Bearer (RFC 6750), got {_quote(str(token_type), ())}"
            )
        refresh = body.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or not refresh.isprintable()):
            raise MalformedResponse("token: the refresh_token is not printable text")
        scope = body.get("scope")
        # §5.1: scope is OPTIONAL if identical to the scope requested.
        try:
            granted = _scopes(scope, requested) if isinstance(scope, str) else requested
        except ValueError:
            raise MalformedResponse(
                "token: the granted scope is malformed (RFC 6749 §3.3)"
            ) from None
        lifetime = _seconds(body.get("expires_in"), "expires_in")
        expires_at = None if lifetime is None else self._wall_clock() + lifetime
        return Token(
            access_token=access,
            expires_at=expires_at,
            refresh_token=refresh or None,
            scope=granted,
        )


def _seconds(value: object, name: str, *, required: bool = False) -> Any:
    """A count of seconds: a JSON integer (some servers send a string of digits)."""
    if value is None and not required:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**9:
        raise MalformedResponse(f"{name} must be a non-negative integer of seconds")
    return value


def _default_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# --------------------------------------------------------------------------
# The loopback listener (RFC 8252 §7.3)

_PAGE: Final = (
    b"<!doctype html><html><head><meta charset=utf-8><title>mailwire</title></head>"
    b"<body><p>mailwire received the answer. You can close this tab.</p></body></html>"
)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    query: str | None = None
    done: threading.Event

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up our own name (getfqdn), which can stall on
        # DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]


class _RedirectHandler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # an idle connection (a browser's preconnect) does not hold a thread
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        if parts.path != "/" or self.server.done.is_set():
            self._answer(404, b"not here")
            return
        self.server.query = parts.query
        self._answer(200, _PAGE)
        self.server.done.set()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries the authorization code."""


class _Listener:
    """A one-shot HTTP listener on 127.0.0.1 for the authorization redirect."""

    def __init__(self, port: int) -> None:
        self._server = _Server(("127.0.0.1", port), _RedirectHandler)
        self._server.done = threading.Event()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> _Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def wait(self, seconds: float) -> str | None:
        """The query of the first redirect, or ``None`` after ``seconds``."""
        if not self._server.done.wait(seconds):
            return None
        return self._server.query
