"""The OAuth client: the device, loopback and refresh grants, and what the user sees."""

from __future__ import annotations

import dataclasses
import hmac
import secrets
import ssl
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from mailwire.oauth2._errors import (
    AuthorizationExpired,
    MalformedResponse,
    OAuth2Error,
    StateMismatch,
)
from mailwire.oauth2._loopback import Listener
from mailwire.oauth2._model import (
    DeviceAuthorization,
    Provider,
    Token,
    code_challenge,
    make_code_verifier,
)
from mailwire.oauth2._wire import (
    Endpoints,
    check_endpoint,
    parse_scopes,
    printable,
    seconds,
)

__all__ = [
    "DEVICE_CODE_GRANT",
    "OAuth2Client",
    "open_in_browser",
    "print_authorization_url",
    "print_device_instructions",
]

#: RFC 8628 §3.4: the grant type of a device access token request.
DEVICE_CODE_GRANT: Final = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 §3.2: the polling interval when the server names none.
_DEFAULT_INTERVAL = 5
#: Bound on how long a device flow polls, whatever ``expires_in`` says (Google
#: gives 1800 s, Microsoft 900 s): a server cannot keep us polling for a day.
_MAX_DEVICE_WAIT = 3600
#: The authorization request parameters the loopback flow sets itself.
_FLOW_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


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
        check_endpoint(provider.authorization_endpoint, "authorization_endpoint")
        check_endpoint(provider.token_endpoint, "token_endpoint")
        if provider.device_authorization_endpoint is not None:
            check_endpoint(provider.device_authorization_endpoint, "device_authorization_endpoint")
        self.provider = provider
        self.client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._sleep = sleep
        self._http = Endpoints(
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            ssl_context=ssl_context,
            wall_clock=wall_clock,
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
        form = self._client_form({"scope": " ".join(parse_scopes(scopes, self.provider.scopes))})
        status, body = self._http.post(endpoint, form, "device authorization")
        if status != 200 or "error" in body:
            raise self._http.refusal("device authorization", status, body, form)
        # Google says verification_url, as drafts of RFC 8628 did.
        uri = body.get("verification_uri", body.get("verification_url"))
        code, user_code = body.get("device_code"), body.get("user_code")
        if not (printable(code) and printable(user_code) and printable(uri)):
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
            expires_in=seconds(body.get("expires_in"), "expires_in", required=True),
            interval=seconds(body.get("interval"), "interval") or _DEFAULT_INTERVAL,
            verification_uri_complete=complete if printable(complete) else None,
            message=message if printable(message) else None,
            device_code=code,
        )

    def poll_device_token(
        self, authorization: DeviceAuthorization, scopes: Iterable[str] | str | None = None
    ) -> Token:
        """Poll the token endpoint until the user has decided (RFC 8628 §3.4, §3.5).

        Waits ``interval`` seconds before each request; ``slow_down`` adds
        5 seconds to it for good. Gives up when the device code expires.
        """
        requested = parse_scopes(scopes, self.provider.scopes)
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
            status, body = self._http.post(self.provider.token_endpoint, form, "device token")
            error = body.get("error")
            if status == 200 and error is None:
                return self._http.token(body, requested)
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5  # §3.5: for this and all later requests
                continue
            raise self._http.refusal("device token", status, body, form)
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
                (``login_hint``, ``prompt``...); not the ones the flow sets.

        Raises:
            StateMismatch, AuthorizationDenied, AuthorizationExpired (no
            redirect within ``wait``), MalformedResponse, TransportError,
            OAuth2Error; ValueError for a bad argument (nothing started).
        """
        taken = set(extra_params or {}) & set(_FLOW_PARAMS)
        if taken:
            # The state and the PKCE challenge are what make the flow safe (RFC 6749
            # §10.12, RFC 7636 §4.3): the caller cannot replace them.
            raise ValueError(f"extra_params cannot set {', '.join(sorted(taken))}")
        if redirect_host not in ("127.0.0.1", "localhost"):
            raise ValueError("redirect_host must be 127.0.0.1 or localhost (RFC 8252 §7.3)")
        requested = parse_scopes(scopes, self.provider.scopes)
        verifier = make_code_verifier()
        state = secrets.token_urlsafe(32)
        with Listener(port) as listener:
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
        status, body = self._http.post(self.provider.token_endpoint, form, "code exchange")
        if status != 200 or "error" in body:
            raise self._http.refusal("code exchange", status, body, form)
        return self._http.token(body, requested)

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
            raise self._http.refusal(
                "authorization", None, body, {"code": fields.get("code", [""])[0]}
            )
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
            fields["scope"] = " ".join(parse_scopes(scopes, ()))
        form = self._client_form(fields)
        status, body = self._http.post(self.provider.token_endpoint, form, "refresh")
        if status != 200 or "error" in body:
            raise self._http.refusal("refresh", status, body, form)
        granted = token.scope if isinstance(token, Token) else self.provider.scopes
        fresh = self._http.token(body, parse_scopes(scopes, granted))
        if fresh.refresh_token is None:
            fresh = dataclasses.replace(fresh, refresh_token=refresh_token)
        return fresh

    # ------------------------------------------------------------------- forms

    def _client_form(self, fields: dict[str, str]) -> dict[str, str]:
        form = {**fields, "client_id": self.client_id}
        if self._client_secret is not None:
            # RFC 6749 §2.3.1 allows the secret in the body; Google expects it there.
            form["client_secret"] = self._client_secret
        return form
