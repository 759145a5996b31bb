"""A small SCRAM server (RFC 5802 §3, §5, §7) for testing the client against.

Written from the RFC, separately from ``mailwire.sasl``: it parses what the
client sends, checks the proof the way a server does (recovering ClientKey from
the proof and comparing its hash with StoredKey) and returns the server
signature. Only the SASLprep step is borrowed from mailwire (tested on its own
against RFC 4013 in test_rfc4013_saslprep.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from mailwire.sasl import saslprep

_SASLNAME = re.compile(r"(?:[^=,]|=2C|=3D)+")


def unescape_saslname(value: str) -> str:
    """RFC 5802 §5.1: a '=' not followed by '2C' or '3D' MUST fail."""
    if not _SASLNAME.fullmatch(value):
        raise ValueError(f"bad saslname {value!r}")
    return value.replace("=2C", ",").replace("=3D", "=")


class ScramServer:
    """One server-side SCRAM exchange for a single known user."""

    def __init__(
        self,
        hash_name: str,
        username: str,
        password: str,
        *,
        salt: bytes = b"NaCl-and-pepper!",
        iterations: int = 4096,
        server_nonce: str = "3rfcNHYJY1ZVvWVs7j",
    ) -> None:
        self.hash_name = hash_name
        self.username = saslprep(username)
        self.salt = salt
        self.iterations = iterations
        self.server_nonce = server_nonce
        # What a server stores (§3): salt, iteration count, StoredKey, ServerKey.
        salted = hashlib.pbkdf2_hmac(hash_name, saslprep(password).encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hash_name).digest()
        self.stored_key = hashlib.new(hash_name, client_key).digest()
        self.server_key = hmac.new(salted, b"Server Key", hash_name).digest()
        self.authzid: str | None = None

    def first(self, client_first: bytes) -> bytes:
        text = client_first.decode("utf-8")
        flag, authz, bare = text.split(",", 2)
        assert flag == "n", "this client does not do channel binding"
        self.gs2_header = f"{flag},{authz},"
        if authz:
            assert authz.startswith("a=")
            self.authzid = unescape_saslname(authz[2:])
        user_attr, nonce_attr, *extensions = bare.split(",")
        assert user_attr.startswith("n=")
        assert nonce_attr.startswith("r=")
        assert not extensions
        assert unescape_saslname(user_attr[2:]) == self.username
        self.client_first_bare = bare
        self.nonce = nonce_attr[2:] + self.server_nonce
        salt = base64.b64encode(self.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={self.iterations}"
        return self.server_first.encode()

    def final(self, client_final: bytes) -> bytes:
        text = client_final.decode("utf-8")
        without_proof, _, proof_attr = text.rpartition(",")
        channel, nonce = without_proof.split(",")
        assert channel == "c=" + base64.b64encode(self.gs2_header.encode()).decode()
        assert nonce == "r=" + self.nonce
        assert proof_attr.startswith("p=")
        proof = base64.b64decode(proof_attr[2:], validate=True)
        auth_message = ",".join((self.client_first_bare, self.server_first, without_proof))
        signature = hmac.new(self.stored_key, auth_message.encode(), self.hash_name).digest()
        client_key = bytes(p ^ s for p, s in zip(proof, signature, strict=True))
        if hashlib.new(self.hash_name, client_key).digest() != self.stored_key:
            return b"e=invalid-proof"
        server_signature = hmac.new(self.server_key, auth_message.encode(), self.hash_name)
        return b"v=" + base64.b64encode(server_signature.digest())
