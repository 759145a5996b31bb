"""The HTTP side of OAuth 2.0: endpoint rules, bounded JSON answers, error objects.

Every request is a form POST (RFC 6749 §3.2, RFC 8628 §3.1) through urllib,
with a timeout on each socket operation, no redirect followed, and the
answer read up to a byte limit and parsed as one JSON object.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from mailwire.oauth2._errors import (
    AuthorizationDenied,
    AuthorizationExpired,
    MalformedResponse,
    OAuth2Error,
    TransportError,
)
from mailwire.oauth2._model import Token

#: Form fields whose values are secrets, blanked out of server texts we quote.
SECRET_FIELDS: Final = ("client_secret", "code", "code_verifier", "device_code", "refresh_token")
#: RFC 6750 §2.1 b64token: what an access token may be made of. Anything else could
#: not travel in XOAUTH2 or OAUTHBEARER (``\x01`` is their separator).
_B64TOKEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, what: str) -> None:
    """RFC 6749 §3.1, §3.2: TLS for the endpoints; loopback may be plain HTTP."""
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise ValueError(f"{what} must not contain spaces or control characters")
    parts = urllib.parse.urlsplit(url)
    if parts.fragment:
        raise ValueError(f"{what} must not have a fragment (RFC 6749 §3.1)")
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host and is_loopback(host):
        return
    raise ValueError(f"{what} must be an https:// URL (plain http only on loopback): {url!r}")


def printable(value: object) -> bool:
    return isinstance(value, str) and value.isprintable()


def quote(text: str, hidden: Iterable[str], limit: int = 200) -> str:
    """Server text made safe for a message: secrets blanked, escaped, shortened."""
    for secret in hidden:
        if secret:
            # As sent, and as the form encoding sent it (a server may echo the form).
            for form in {secret, urllib.parse.quote_plus(secret), urllib.parse.quote(secret, "")}:
                text = text.replace(form, "<redacted>")
    if len(text) > limit:
        text = text[:limit] + "..."
    return ascii(text)


def parse_scopes(value: Iterable[str] | str | None, default: tuple[str, ...]) -> tuple[str, ...]:
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


def seconds(value: object, name: str, *, required: bool = False) -> Any:
    """A count of seconds: a JSON integer (some servers send a string of digits)."""
    if value is None and not required:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**9:
        raise MalformedResponse(f"{name} must be a non-negative integer of seconds")
    return value


def default_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Endpoints:
    """The authorization server's endpoints as urllib sees them.

    Args:
        timeout: seconds any one socket operation may take.
        max_response_bytes: the largest answer read.
        ssl_context: for HTTPS; ``None`` verifies against the system store.
        wall_clock: seconds since the epoch, for :attr:`Token.expires_at`.
    """

    user_agent: Final = "mailwire-oauth2"

    def __init__(
        self,
        *,
        timeout: float,
        max_response_bytes: int,
        ssl_context: ssl.SSLContext | None,
        wall_clock: Callable[[], float],
    ) -> None:
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._wall_clock = wall_clock
        context = ssl_context or default_context()
        self._opener = urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=context)
        )
        # A proxy must not see a loopback endpoint's traffic (and could not reach it).
        self._loopback_opener = urllib.request.build_opener(
            _NoRedirect(),
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=context),
        )

    def post(self, url: str, form: Mapping[str, str], what: str) -> tuple[int, dict[str, Any]]:
        """POST a form; return the status and the JSON object of the answer."""
        # S310: _check_endpoint allowed only https:// and loopback http:// URLs.
        request = urllib.request.Request(  # noqa: S310
            url,
            data=urllib.parse.urlencode(form).encode("ascii"),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "User-Agent": self.user_agent,
            },
        )
        host = urllib.parse.urlsplit(url).hostname or ""
        opener = self._loopback_opener if is_loopback(host) else self._opener
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
        if length.isascii() and length.isdigit() and int(length) > limit:
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

    def refusal(
        self, what: str, status: int | None, body: Mapping[str, Any], sent: Mapping[str, str]
    ) -> OAuth2Error:
        """The exception for an OAuth error object (RFC 6749 §5.2, RFC 8628 §3.5)."""
        hidden = [value for key, value in sent.items() if key in SECRET_FIELDS]
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
        code = quote(error, hidden, 60)[1:-1]
        raw = body.get("error_description")
        description = quote(raw, hidden) if isinstance(raw, str) else None
        message = f"{what}: {code}" + (f" {description}" if description else "")
        if status is not None:
            message += f" (HTTP {status})"
        kind: type[OAuth2Error] = OAuth2Error
        if error in ("access_denied", "authorization_declined"):
            kind = AuthorizationDenied
        elif error == "expired_token":
            kind = AuthorizationExpired
        return kind(message, error=code, description=description, status=status)

    def token(self, body: Mapping[str, Any], requested: tuple[str, ...]) -> Token:
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
                f"token: token_type must be Bearer (RFC 6750), got {quote(str(token_type), ())}"
            )
        refresh = body.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or not refresh.isprintable()):
            raise MalformedResponse("token: the refresh_token is not printable text")
        scope = body.get("scope")
        # §5.1: scope is OPTIONAL if identical to the scope requested.
        try:
            granted = parse_scopes(scope, requested) if isinstance(scope, str) else requested
        except ValueError:
            raise MalformedResponse(
                "token: the granted scope is malformed (RFC 6749 §3.3)"
            ) from None
        lifetime = seconds(body.get("expires_in"), "expires_in")
        expires_at = None if lifetime is None else self._wall_clock() + lifetime
        return Token(
            access_token=access,
            expires_at=expires_at,
            refresh_token=refresh or None,
            scope=granted,
        )
