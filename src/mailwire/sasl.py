"""SASL mechanisms as pure objects: no I/O, no wire encoding.

A mechanism turns server challenges into client responses. It takes and
returns *raw* bytes: the base64 of SMTP ``334`` and IMAP/POP3 ``+`` lines, the
``=`` of an empty initial response and the ``*`` that cancels an exchange all
belong to the protocol layers. One object serves one exchange.

Implemented (RFC 4422 is the framework for all of them):

- PLAIN (RFC 4616); LOGIN (draft-murchison-sasl-login-00, obsolete); CRAM-MD5
  (RFC 2195, legacy: :func:`choose` takes it only when asked to).
- SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding,
  with SASLprep (RFC 4013, a stringprep profile, RFC 3454).
- OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's and Microsoft's older format).
- EXTERNAL (RFC 4422 appendix A) and ANONYMOUS (RFC 4505).

How a protocol flow drives one::

    mech = choose(server_mechanisms, username=u, password=p)
    first = mech.initial_response()     # only if the protocol can send one
    response = mech.respond(challenge)  # for each server challenge
    mech.finish(success_data)           # on the server's success (or None)

A flow that cannot send an initial response (IMAP without SASL-IR) does not
call ``initial_response()``; it answers the server's first, empty challenge
with ``respond(b"")``, which yields the same first message.

No ``repr`` and no exception text holds a password, a token or a key derived
from them (security.md S40).
"""

from __future__ import annotations

import abc
import binascii
from collections.abc import Callable, Iterable
from typing import ClassVar, Final

from mailwire.errors import AuthenticationError
from mailwire.limits import DEFAULT_LIMITS, Limits

# hashlib, hmac, secrets and stringprep are imported where they are used: together they
# cost more than a whole protocol core to import (ARCHITECTURE.md, start-up cost).

__all__ = [
    "MECHANISMS",
    "PASSWORD_PREFERENCE",
    "SCRAM_MAX_ITERATIONS",
    "TOKEN_PREFERENCE",
    "Anonymous",
    "CramMD5",
    "External",
    "Login",
    "Mechanism",
    "OAuthBearer",
    "Plain",
    "ScramSHA1",
    "ScramSHA256",
    "XOAuth2",
    "by_name",
    "choose",
    "saslprep",
]

#: Mechanisms for a user name and password, strongest first. :func:`choose` takes
#: CRAM-MD5, the last, only with ``enable_cram_md5=True``.
PASSWORD_PREFERENCE: Final = ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN", "CRAM-MD5")
#: Mechanisms for an OAuth 2.0 bearer token, the standard one first.
TOKEN_PREFERENCE: Final = ("OAUTHBEARER", "XOAUTH2")

#: Highest SCRAM iteration count taken from a server. RFC 5802 §5.1 asks for at least
#: 4096; deployments use 4096 (Dovecot, PostgreSQL) to 15000 (MongoDB), OWASP's storage
#: advice tops out at 1.3 million (SHA-1). The bound stops a hostile server pinning the
#: client in PBKDF2 (10 million SHA-256 rounds take about 3 s).
SCRAM_MAX_ITERATIONS: Final = 10_000_000

# stringprep tables (RFC 3454 appendix C) prohibited by SASLprep (RFC 4013 §2.3; C.1.2
# cannot survive the mapping step) and by the trace profile (RFC 4505 §3).
_SASLPREP_PROHIBITED: Final = ("c12", "c21", "c22", "c3", "c4", "c5", "c6", "c7", "c8", "c9")
_TRACE_PROHIBITED: Final = ("c21", "c22", "c3", "c4", "c5", "c6", "c8", "c9")


def decode_challenge(text: str) -> bytes:
    """A server's SASL challenge (the base64 after ``334``, ``+``) as bytes.

    The protocol flows call this; a reply line is text decoded with
    replacement, so a byte outside ASCII must count as "not base64" like any
    other stray character, not as a ``ValueError`` of its own.

    Raises:
        binascii.Error: ``text`` is not base64.
    """
    return binascii.a2b_base64(text.strip().encode("ascii", "replace"), strict_mode=True)


def _quote(data: bytes | str, limit: int = 80) -> str:
    """Server text made safe for an error message: controls escaped, shortened."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return ascii(text if len(text) <= limit else text[:limit] + "...")


def _utf8(value: str, what: str, forbidden: str = "\0") -> bytes:
    """Encode a caller's field; a separator inside it is a ValueError."""
    for char in forbidden:
        if char in value:  # name the field, never the value: it may be a secret
            raise ValueError(f"{what} must not contain {char!r}")
    return value.encode("utf-8")


def _saslname(value: str) -> str:
    """RFC 5802 §5.1, RFC 5801 §4: ``=`` and ``,`` travel as ``=3D`` and ``=2C``."""
    return value.replace("=", "=3D").replace(",", "=2C")


def _printable(text: str) -> bool:
    """RFC 5802 §7 ``printable``: %x21-7E except ``,`` (the nonce alphabet)."""
    return bool(text) and all("!" <= char <= "~" and char != "," for char in text)


def _stringprep_check(text: str, prohibited: tuple[str, ...], allow_unassigned: bool) -> None:
    """RFC 3454 §5-7: prohibited output, unassigned code points, bidi rules."""
    import stringprep

    for position, char in enumerate(text):
        for table in prohibited:
            if getattr(stringprep, "in_table_" + table)(char):
                raise ValueError(
                    f"stringprep: prohibited character U+{ord(char):04X} (RFC 3454 table "
                    f"C.{'.'.join(table[1:])}) at position {position}"
                )
        if not allow_unassigned and stringprep.in_table_a1(char):
            raise ValueError(f"stringprep: unassigned code point U+{ord(char):04X}")
    # §6: text with right-to-left characters has no left-to-right ones and begins
    # and ends with a right-to-left character.
    rtl = [stringprep.in_table_d1(char) for char in text]
    if any(rtl):
        if any(stringprep.in_table_d2(char) for char in text):
            raise ValueError("stringprep: mixes right-to-left and left-to-right characters")
        if not (rtl[0] and rtl[-1]):
            raise ValueError("stringprep: right-to-left text must begin and end right-to-left")


def saslprep(text: str, *, allow_unassigned: bool = True) -> str:
    """Prepare a user name or password with SASLprep (RFC 4013), Unicode 3.2.

    Non-ASCII spaces (table C.1.2) become U+0020 and table B.1 characters are
    dropped (§2.1); the result is NFKC-normalised (§2.2); prohibited characters
    (§2.3) and malformed bidirectional text (§2.4) are refused.

    Args:
        text: the string to prepare.
        allow_unassigned: ``True`` prepares a *query* string, in which code
            points unassigned in Unicode 3.2 may appear (what SCRAM clients do,
            RFC 5802 §5.1); ``False`` a *stored* string.

    Returns:
        The prepared string, possibly empty (callers usually refuse that).

    Raises:
        ValueError: a prohibited or unassigned character, or bad bidi text. The
            message names the code point: do not show it for a password.
    """
    import stringprep
    import unicodedata

    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char
        for char in text
        if not stringprep.in_table_b1(char)
    )
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    _stringprep_check(prepared, _SASLPREP_PROHIBITED, allow_unassigned)
    return prepared


class Mechanism(abc.ABC):
    """One SASL exchange, client side.

    Call :meth:`initial_response` (optional; first and once), then
    :meth:`respond` for each server challenge, then :meth:`finish` on the
    server's success. After raising :class:`AuthenticationError` the object
    stays failed; the flow cancels the exchange (``*``) if it is still open.

    Args:
        limits: ``limits.max_sasl_rounds`` bounds the challenges (security.md S26).

    Attributes:
        name: the IANA mechanism name.
        sends_password_in_clear: ``True`` when whoever reads the exchange learns
            the password or bearer token; clients refuse such a mechanism
            without TLS (security.md S38).
    """

    name: ClassVar[str]
    sends_password_in_clear: ClassVar[bool] = False

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._rounds = 0
        self._started = False
        self._complete = False
        self._failed = False

    def __repr__(self) -> str:
        state = "complete" if self._complete else "failed" if self._failed else "open"
        return f"<{type(self).__name__} {self._describe()}rounds={self._rounds} {state}>"

    def _describe(self) -> str:
        """Non-secret fields for ``repr``."""
        return ""

    @property
    def complete(self) -> bool:
        """Whether :meth:`finish` accepted the server's success."""
        return self._complete

    @property
    def rounds(self) -> int:
        """How many challenges :meth:`respond` has taken."""
        return self._rounds

    def initial_response(self) -> bytes | None:
        """The client's first message, sent with the command (SASL-IR, RFC 4959).

        Returns:
            The raw message; ``b""`` is an empty initial response (IMAP writes
            ``=``); ``None`` when the mechanism waits for a challenge first.

        Raises:
            RuntimeError: called twice, or after :meth:`respond`.
        """
        if self._started or self._rounds:
            raise RuntimeError(f"{self.name}: initial_response() must come first, and once")
        self._started = True
        return self._first_message()

    def respond(self, challenge: bytes) -> bytes:
        """Answer one server challenge.

        Args:
            challenge: the challenge, the protocol's base64 already removed.

        Returns:
            The raw response.

        Raises:
            AuthenticationError: bad server data, a challenge the mechanism does
                not expect, or more than ``limits.max_sasl_rounds`` of them. The
                flow cancels the exchange.
        """
        if self._failed or self._complete:
            raise AuthenticationError(f"{self.name}: challenge after the exchange ended")
        self._rounds += 1
        if self._rounds > self._limits.max_sasl_rounds:
            self._failed = True
            raise AuthenticationError(
                f"{self.name}: the server sent more than {self._limits.max_sasl_rounds} "
                "challenges (Limits.max_sasl_rounds); exchange cancelled"
            )
        try:
            if not self._started:
                # RFC 4422 §5 (2a): with no initial response, a client-first mechanism
                # sends its first message in answer to the first (empty) challenge.
                self._started = True
                first = self._first_message()
                if first is not None:
                    return first
            return self._step(challenge)
        except AuthenticationError:
            self._failed = True
            raise

    def finish(self, additional_data: bytes | None = None) -> None:
        """Take the server's success and the additional data that came with it.

        Mechanisms that define no success data ignore it; SCRAM verifies the
        server signature there unless the last challenge carried it.

        Args:
            additional_data: raw success data (RFC 4422 §3.6), or ``None``.

        Raises:
            AuthenticationError: the server did not prove it knows the password
                (SCRAM); treat it as an impostor and close the connection.
        """
        if self._failed:
            raise AuthenticationError(f"{self.name}: the exchange already failed")
        if not self._complete:
            try:
                self._conclude(additional_data)
            except AuthenticationError:
                self._failed = True
                raise
            self._complete = True

    @abc.abstractmethod
    def _first_message(self) -> bytes | None:
        """The client-first message; ``None`` for a server-first mechanism."""

    def _step(self, challenge: bytes) -> bytes:
        """Answer a challenge that follows the first message."""
        raise AuthenticationError(f"{self.name}: unexpected challenge; the mechanism has no more")

    def _conclude(self, additional_data: bytes | None) -> None:  # noqa: B027 (optional hook)
        """Check the success data (nothing to check by default)."""


class _UserMechanism(Mechanism):
    """A mechanism that names a user; ``repr`` shows the name (not a secret)."""

    def __init__(self, username: str | None, *, limits: Limits) -> None:
        super().__init__(limits=limits)
        self.username = username

    def _describe(self) -> str:
        return "" if self.username is None else f"username={self.username!r} "


class Plain(_UserMechanism):
    """PLAIN (RFC 4616 §2): ``[authzid] NUL authcid NUL passwd``, one message.

    The strings go as given, in UTF-8; preparing them is the server's job.

    Args:
        username: the authentication identity (authcid).
        password: the password; anyone reading the exchange learns it.
        authzid: the identity to act as; ``None`` acts as ``username``.
        limits: see :class:`Mechanism`.

    Raises:
        ValueError: NUL in a field, or an empty user name or password.
    """

    name = "PLAIN"
    sends_password_in_clear = True

    def __init__(
        self,
        username: str,
        password: str,
        *,
        authzid: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(username, limits=limits)
        if not username or not password:
            raise ValueError("PLAIN needs a non-empty user name and password (RFC 4616 §2)")
        fields = ((authzid or "", "authzid"), (username, "user name"), (password, "password"))
        self._message = b"\0".join(_utf8(value, f"PLAIN {what}") for value, what in fields)

    def _first_message(self) -> bytes:
        message, self._message = self._message, b""  # keep no copy of the password
        return message


class Login(_UserMechanism):
    """LOGIN (draft-murchison-sasl-login-00 §2.1): user name, then password.

    The answer goes by position: the first challenge gets the user name and
    the second the password, whatever the prompts say ("Username:", "User
    Name", anything else).

    Args:
        username: the user name.
        password: the password; anyone reading the exchange learns it.
        limits: see :class:`Mechanism`.

    Raises:
        ValueError: NUL, CR or LF in a field (draft §2).
    """

    name = "LOGIN"
    sends_password_in_clear = True

    def __init__(self, username: str, password: str, *, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(username, limits=limits)
        self._answers = [
            _utf8(username, "LOGIN user name", "\0\r\n"),
            _utf8(password, "LOGIN password", "\0\r\n"),
        ]

    def _first_message(self) -> None:
        return None

    def _step(self, challenge: bytes) -> bytes:
        return self._answers.pop(0) if self._answers else super()._step(challenge)


class CramMD5(_UserMechanism):
    """CRAM-MD5 (RFC 2195): ``user SP hex(HMAC-MD5(password, challenge))``.

    Legacy: the server keeps a password equivalent and an observer can test
    guesses offline, so :func:`choose` takes it only when enabled.

    Args:
        username: the user name.
        password: the shared secret.
        limits: see :class:`Mechanism`.
    """

    name = "CRAM-MD5"

    def __init__(self, username: str, password: str, *, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(username, limits=limits)
        self._password: bytes | None = password.encode("utf-8")

    def _first_message(self) -> None:
        return None

    def _step(self, challenge: bytes) -> bytes:
        import hmac

        if self._password is None:
            return super()._step(challenge)
        if not challenge:
            raise AuthenticationError("CRAM-MD5: the server sent an empty challenge")
        digest = hmac.new(self._password, challenge, "md5").hexdigest()
        self._password = None
        return f"{self.username} {digest}".encode()


class _Scram(_UserMechanism):
    """SCRAM (RFC 5802) without channel binding; a subclass names the hash."""

    _hash: ClassVar[str]

    def __init__(
        self,
        username: str,
        password: str,
        *,
        authzid: str | None = None,
        nonce: str | None = None,
        max_iterations: int = SCRAM_MAX_ITERATIONS,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(username, limits=limits)
        # §5.1: the user name is SASLprepped as a query string; failure or an empty
        # result aborts. The password is prepared the same way (Normalize, §3).
        try:
            user = saslprep(username)
        except ValueError as error:
            raise ValueError(f"{self.name} user name: {error}") from None
        try:
            password, valid = saslprep(password), True
        except ValueError:
            valid = False
        if not valid:  # raised out here so that no __context__ names the bad character
            raise ValueError(f"{self.name}: the password is not valid under SASLprep (RFC 4013)")
        if not user or not password:
            raise ValueError(f"{self.name}: user name and password must not prepare to empty")
        if nonce is None:
            import secrets

            nonce = secrets.token_urlsafe(24)  # URL-safe base64 is all "printable"
        if not _printable(nonce):
            raise ValueError("SCRAM nonce must be printable ASCII without ','")
        self._password: bytes | None = password.encode("utf-8")
        self._nonce = nonce
        self._max_iterations = max_iterations
        authz = _utf8(_saslname(authzid), "SCRAM authzid").decode() if authzid else ""
        self._gs2_header = f"n,{'a=' + authz if authz else ''},"
        self._first_bare = f"n={_saslname(user)},r={nonce}"
        self._server_signature: bytes | None = None
        self._verified = False

    def _first_message(self) -> bytes:
        return (self._gs2_header + self._first_bare).encode("utf-8")

    def _step(self, challenge: bytes) -> bytes:
        if self._password is not None:
            return self._client_final(challenge)
        if self._server_signature is not None and not self._verified:
            # IMAP and POP3 (and SMTP servers that do so) carry server-final-message
            # as a last challenge, answered empty before the success reply.
            self._verify(challenge)
            return b""
        return super()._step(challenge)

    def _conclude(self, additional_data: bytes | None) -> None:
        if self._verified:
            return
        if self._server_signature is None:
            raise AuthenticationError(f"{self.name}: success reported before the exchange ended")
        if not additional_data:
            raise AuthenticationError(
                f"{self.name}: success reported without the server signature (v=); "
                "the server has not proved that it knows the password"
            )
        self._verify(additional_data)

    def _attributes(self, message: bytes, what: str) -> list[tuple[str, str]]:
        """Split ``k=v,k=v`` (§7 attr-val); ``e=`` and ``m=`` first end the exchange."""
        try:
            parts = message.decode("utf-8").split(",")
        except UnicodeDecodeError:
            raise AuthenticationError(f"{self.name}: {what} is not UTF-8") from None
        if not all(
            len(p) >= 2 and p[1] == "=" and p[0].isascii() and p[0].isalpha() for p in parts
        ):
            raise AuthenticationError(f"{self.name}: malformed {what}: {_quote(message)}")
        attributes = [(part[0], part[2:]) for part in parts]
        if attributes[0][0] == "e":  # §7 server-error: a fixed token, safe to show
            raise AuthenticationError(f"{self.name}: server error {_quote(attributes[0][1])}")
        if attributes[0][0] == "m":  # §5.1: an unknown mandatory extension MUST fail
            raise AuthenticationError(f"{self.name}: unsupported mandatory extension (m=)")
        return attributes

    def _client_final(self, server_first: bytes) -> bytes:
        import hashlib
        import hmac

        attributes = self._attributes(server_first, "server-first-message")
        if "".join(key for key, _ in attributes[:3]) != "rsi":
            raise AuthenticationError(
                f"{self.name}: server-first-message lacks r=, s=, i=: {_quote(server_first)}"
            )
        (_, nonce), (_, salt_b64), (_, count) = attributes[:3]
        # §5.1: the client MUST check that the nonce starts with its own; the server
        # appends its part, so a nonce no longer than ours is refused too.
        if not nonce.startswith(self._nonce) or len(nonce) == len(self._nonce):
            raise AuthenticationError(f"{self.name}: the server nonce does not extend ours")
        if not _printable(nonce):
            raise AuthenticationError(f"{self.name}: the server nonce is not printable ASCII")
        try:
            salt = binascii.a2b_base64(salt_b64, strict_mode=True)
        except binascii.Error:
            salt = b""
        if not salt:
            raise AuthenticationError(f"{self.name}: bad salt {_quote(salt_b64)}")
        # §7 posit-number = %x31-39 *DIGIT; the cap keeps PBKDF2 bounded.
        if not (count.isascii() and count.isdigit() and count[0] != "0"):
            raise AuthenticationError(f"{self.name}: bad iteration count {_quote(count)}")
        if len(count) > 12 or int(count) > self._max_iterations:
            raise AuthenticationError(
                f"{self.name}: iteration count {_quote(count)} is over {self._max_iterations}"
            )
        assert self._password is not None
        salted = hashlib.pbkdf2_hmac(self._hash, self._password, salt, int(count))
        # From here on only the expected server signature is kept; the server sends
        # it in the clear anyway.
        self._password = None
        channel = binascii.b2a_base64(self._gs2_header.encode("utf-8"), newline=False)
        without_proof = f"c={channel.decode()},r={nonce}"
        auth_message = f"{self._first_bare},{server_first.decode()},{without_proof}".encode()
        # §3: ClientProof = ClientKey XOR HMAC(H(ClientKey), AuthMessage).
        client_key = hmac.digest(salted, b"Client Key", self._hash)
        stored_key = hashlib.new(self._hash, client_key).digest()
        signature = hmac.digest(stored_key, auth_message, self._hash)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        server_key = hmac.digest(salted, b"Server Key", self._hash)
        self._server_signature = hmac.digest(server_key, auth_message, self._hash)
        return f"{without_proof},p={binascii.b2a_base64(proof, newline=False).decode()}".encode()

    def _verify(self, server_final: bytes) -> None:
        import hmac

        key, value = self._attributes(server_final, "server-final-message")[0]
        if key != "v":
            raise AuthenticationError(f"{self.name}: server-final-message has no signature (v=)")
        try:
            received = binascii.a2b_base64(value, strict_mode=True)
        except binascii.Error:
            received = b""
        assert self._server_signature is not None
        if not hmac.compare_digest(received, self._server_signature):
            # §5: the client MUST then consider the authentication unsuccessful.
            raise AuthenticationError(
                f"{self.name}: the server signature does not verify: the server does not "
                "know the password (possible impostor); close the connection"
            )
        self._verified = True


class ScramSHA1(_Scram):
    """SCRAM-SHA-1 (RFC 5802), no channel binding (GS2 header ``n,,``).

    Args:
        username: SASLprepped, then ``=`` and ``,`` escaped as ``=3D``, ``=2C``.
        password: SASLprepped; never sent, only used for the proof.
        authzid: the identity to act as (GS2 ``a=``), or ``None``.
        nonce: the client nonce, printable ASCII without ``,``; ``None`` draws
            24 random bytes from :mod:`secrets`. Set it only in tests.
        max_iterations: the highest iteration count taken from the server.
        limits: see :class:`Mechanism`.

    Raises:
        ValueError: SASLprep refuses the user name or password, the nonce is
            malformed, or the authzid has NUL.
    """

    name = "SCRAM-SHA-1"
    _hash = "sha1"


class ScramSHA256(_Scram):
    """SCRAM-SHA-256 (RFC 7677): SCRAM over SHA-256; arguments as :class:`ScramSHA1`."""

    name = "SCRAM-SHA-256"
    _hash = "sha256"


class _Bearer(_UserMechanism):
    """XOAUTH2 and OAUTHBEARER: one message, then maybe an error challenge."""

    sends_password_in_clear = True  # a bearer token is as good as a password
    _error_response: ClassVar[bytes]

    def __init__(self, username: str | None, message: bytes, *, limits: Limits) -> None:
        super().__init__(username, limits=limits)
        self._message = message
        self.server_error: str | None = None

    def _first_message(self) -> bytes:
        message, self._message = self._message, b""  # keep no copy of the token
        return message

    def _step(self, challenge: bytes) -> bytes:
        if self.server_error is not None:
            return super()._step(challenge)
        # The challenge is the provider's JSON error (RFC 7628 §3.2.2); the client
        # answers so that the server can end the exchange with its failure reply.
        self.server_error = challenge.decode("utf-8", "replace")
        return self._error_response


class XOAuth2(_Bearer):
    """XOAUTH2 (Google, Microsoft): ``user=U ^A auth=Bearer T ^A ^A``.

    On failure the server sends a JSON error as a challenge, kept in
    ``server_error``; the answer is an empty response, as the providers
    document, and the server then fails the command.

    Args:
        username: the mailbox address.
        token: the OAuth 2.0 access token.
        limits: see :class:`Mechanism`.

    Raises:
        ValueError: ``\\x01`` or NUL in a field.
    """

    name = "XOAUTH2"
    _error_response = b""

    def __init__(self, username: str, token: str, *, limits: Limits = DEFAULT_LIMITS) -> None:
        user = _utf8(username, "XOAUTH2 user name", "\0\x01")
        bearer = _utf8(token, "XOAUTH2 token", "\0\x01")
        super().__init__(
            username, b"user=%s\x01auth=Bearer %s\x01\x01" % (user, bearer), limits=limits
        )


class OAuthBearer(_Bearer):
    """OAUTHBEARER (RFC 7628 §3.1): GS2 header, ``host``, ``port``, ``auth`` pairs.

    On failure the server sends a JSON error as a challenge (§3.2.2), kept in
    ``server_error``; the answer is the single ``\\x01`` that §3.2.3 requires,
    and the server then fails the command.

    Args:
        username: sent as the GS2 authzid (``a=``, escaped); ``None`` omits it.
        token: the OAuth 2.0 bearer token.
        host: the host name the client connected to, or ``None``.
        port: the port the client connected to, or ``None``.
        limits: see :class:`Mechanism`.

    Raises:
        ValueError: ``\\x01`` or NUL in a field, or a port outside 1-65535.
    """

    name = "OAUTHBEARER"
    _error_response = b"\x01"

    def __init__(
        self,
        username: str | None,
        token: str,
        *,
        host: str | None = None,
        port: int | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        if port is not None and not 0 < port < 65536:
            raise ValueError("OAUTHBEARER port must be 1-65535")
        gs2_header = f"n,{'a=' + _saslname(username) if username else ''},"
        pairs = [_utf8(gs2_header, "OAUTHBEARER user name", "\0\x01")]
        if host is not None:
            pairs.append(b"host=" + _utf8(host, "OAUTHBEARER host", "\0\x01"))
        if port is not None:
            pairs.append(b"port=%d" % port)
        pairs.append(b"auth=Bearer " + _utf8(token, "OAUTHBEARER token", "\0\x01"))
        super().__init__(username, b"\x01".join(pairs) + b"\x01\x01", limits=limits)


class External(Mechanism):
    """EXTERNAL (RFC 4422 appendix A): identity established outside SASL (TLS).

    Args:
        authzid: the identity to act as; ``None`` sends an empty message and the
            server derives it from the external credentials.
        limits: see :class:`Mechanism`.

    Raises:
        ValueError: NUL in the authzid.
    """

    name = "EXTERNAL"

    def __init__(self, authzid: str | None = None, *, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(limits=limits)
        self.authzid = authzid
        self._message = _utf8(authzid or "", "EXTERNAL authzid")

    def _describe(self) -> str:
        return "" if self.authzid is None else f"authzid={self.authzid!r} "

    def _first_message(self) -> bytes:
        return self._message


class Anonymous(Mechanism):
    """ANONYMOUS (RFC 4505): a trace string that means nothing to the server.

    Args:
        trace: an email address or a token without ``@``, at most 255
            characters, checked with the "trace" profile (RFC 4505 §3).
        limits: see :class:`Mechanism`.

    Raises:
        ValueError: the trace is too long or has prohibited characters.
    """

    name = "ANONYMOUS"

    def __init__(self, trace: str = "", *, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__(limits=limits)
        if len(trace) > 255:
            raise ValueError("ANONYMOUS trace is limited to 255 characters (RFC 4505 §2)")
        _stringprep_check(trace, _TRACE_PROHIBITED, allow_unassigned=True)
        self.trace = trace

    def _describe(self) -> str:
        return f"trace={self.trace!r} "

    def _first_message(self) -> bytes:
        return self.trace.encode("utf-8")


#: Every mechanism class by its IANA name.
_PASSWORD_CLASSES = (ScramSHA256, ScramSHA1, Plain, Login, CramMD5)
_OTHER_CLASSES = (OAuthBearer, XOAuth2, External, Anonymous)
MECHANISMS: Final[dict[str, type[Mechanism]]] = {
    cls.name: cls for cls in (*_PASSWORD_CLASSES, *_OTHER_CLASSES)
}


def by_name(
    name: str,
    *,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    authzid: str | None = None,
    trace: str = "",
    host: str | None = None,
    port: int | None = None,
    nonce: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Mechanism:
    """Build the named mechanism from the credentials it uses (others are ignored).

    Args:
        name: a key of :data:`MECHANISMS`, any case.
        username: the user name (for OAUTHBEARER, the GS2 authzid unless
            ``authzid`` is given).
        password: the password of the password mechanisms.
        token: the bearer token of OAUTHBEARER and XOAUTH2.
        authzid: the identity to act as (PLAIN, SCRAM, EXTERNAL, OAUTHBEARER).
        trace: the ANONYMOUS trace.
        host: the OAUTHBEARER ``host`` pair.
        port: the OAUTHBEARER ``port`` pair.
        nonce: the SCRAM client nonce (tests only).
        limits: see :class:`Mechanism`.

    Returns:
        A fresh mechanism.

    Raises:
        ValueError: an unknown name, or a needed credential missing or malformed.
    """
    key = name.upper()
    if key not in MECHANISMS:
        raise ValueError(f"unknown SASL mechanism {_quote(name)}")
    missing = [
        what
        for what, value, users in (
            ("username", username, (*PASSWORD_PREFERENCE, "XOAUTH2")),
            ("password", password, PASSWORD_PREFERENCE),
            ("token", token, TOKEN_PREFERENCE),
        )
        if value is None and key in users
    ]
    if missing:
        raise ValueError(f"{key} needs: {', '.join(missing)}")
    user, secret, bearer = username or "", password or "", token or ""
    if key.startswith("SCRAM-"):
        scram = ScramSHA256 if key == "SCRAM-SHA-256" else ScramSHA1
        return scram(user, secret, authzid=authzid, nonce=nonce, limits=limits)
    oauth_user = authzid if authzid is not None else username
    factories: dict[str, Callable[[], Mechanism]] = {
        "PLAIN": lambda: Plain(user, secret, authzid=authzid, limits=limits),
        "LOGIN": lambda: Login(user, secret, limits=limits),
        "CRAM-MD5": lambda: CramMD5(user, secret, limits=limits),
        "OAUTHBEARER": lambda: OAuthBearer(oauth_user, bearer, host=host, port=port, limits=limits),
        "XOAUTH2": lambda: XOAuth2(user, bearer, limits=limits),
        "EXTERNAL": lambda: External(authzid, limits=limits),
        "ANONYMOUS": lambda: Anonymous(trace, limits=limits),
    }
    return factories[key]()


def choose(
    offered: Iterable[str],
    *,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    authzid: str | None = None,
    enable_cram_md5: bool = False,
    allowed: Iterable[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    host: str | None = None,
    port: int | None = None,
) -> Mechanism:
    """Pick the strongest offered mechanism that the credentials can use.

    The order is :data:`TOKEN_PREFERENCE` when a token is given, then
    :data:`PASSWORD_PREFERENCE` when a user name and password are: SCRAM-SHA-256,
    SCRAM-SHA-1, PLAIN, LOGIN, and CRAM-MD5 only with ``enable_cram_md5=True``
    (security.md S39). ``allowed`` replaces that order with the caller's; it may
    name EXTERNAL and ANONYMOUS, which need no credentials. Whether a mechanism
    may go over plaintext is the client's check
    (:attr:`Mechanism.sends_password_in_clear`), not this function's.

    Exactly ONE mechanism is returned. When the server refuses it, report the
    failure; do NOT try the next mechanism. A silent fallback (smtplib cycles
    CRAM-MD5, PLAIN, LOGIN after failures) lets an attacker who strips or fails
    the strong mechanisms steer the client to a weaker one (security.md S39).

    Args:
        offered: the mechanism names the server advertised, any case.
        username: the user name (password mechanisms, XOAUTH2, OAUTHBEARER).
        password: the password.
        token: the OAuth 2.0 bearer token.
        authzid: the identity to act as, where the mechanism carries one.
        enable_cram_md5: allow CRAM-MD5 (legacy, see :class:`CramMD5`), even
            when ``allowed`` names it.
        allowed: mechanism names in the caller's order of preference.
        limits: passed on to the mechanism.
        host, port: the server the client connected to, which OAUTHBEARER
            sends in its GS2 header (RFC 7628 §3.1); the others ignore them.

    Returns:
        A fresh mechanism.

    Raises:
        AuthenticationError: no offered mechanism is acceptable; the message
            names what was offered, never the credentials.
        ValueError: ``allowed`` names an unknown mechanism, or a credential is
            malformed (SASLprep refuses it, NUL in PLAIN, ...).
    """
    server = {mechanism.upper() for mechanism in offered}
    candidates = [*TOKEN_PREFERENCE, *PASSWORD_PREFERENCE]
    if allowed is not None:
        candidates = [mechanism.upper() for mechanism in allowed]
        unknown = [mechanism for mechanism in candidates if mechanism not in MECHANISMS]
        if unknown:
            raise ValueError(f"unknown SASL mechanism(s) in allowed: {_quote(' '.join(unknown))}")
    has_password = username is not None and password is not None
    usable = dict.fromkeys(PASSWORD_PREFERENCE, has_password)
    usable |= {
        "CRAM-MD5": has_password and enable_cram_md5,
        "OAUTHBEARER": token is not None,
        "XOAUTH2": token is not None and username is not None,
        "EXTERNAL": True,
        "ANONYMOUS": True,
    }
    for mechanism in candidates:
        if mechanism in server and usable[mechanism]:
            return by_name(
                mechanism,
                username=username,
                password=password,
                token=token,
                authzid=authzid,
                limits=limits,
                host=host,
                port=port,
            )
    offer = _quote(" ".join(sorted(server))) if server else "nothing"
    considered = " ".join(mechanism for mechanism in candidates if usable[mechanism]) or "none"
    raise AuthenticationError(
        f"no acceptable SASL mechanism: the server offered {offer}; usable with the "
        f"given credentials and settings: {considered}"
    )
