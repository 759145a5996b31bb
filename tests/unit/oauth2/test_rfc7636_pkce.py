"""PKCE S256 (RFC 7636 §4.1, §4.2), checked with the example of Appendix B."""

from __future__ import annotations

import base64

import pytest

from mailwire.oauth2 import code_challenge, make_code_verifier

# RFC 7636 Appendix B: the 32 octets the client drew, the verifier they make in
# base64url, and the S256 challenge of that verifier.
APPENDIX_B_OCTETS = bytes(
    [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
     22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121]
)  # fmt: skip
APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_appendix_b() -> None:
    verifier = base64.urlsafe_b64encode(APPENDIX_B_OCTETS).rstrip(b"=").decode()
    assert verifier == APPENDIX_B_VERIFIER
    assert code_challenge(APPENDIX_B_VERIFIER) == APPENDIX_B_CHALLENGE


@pytest.mark.parametrize("nbytes", [32, 48, 96])
def test_fresh_verifiers(nbytes: int) -> None:
    verifiers = {make_code_verifier(nbytes) for _ in range(20)}
    assert len(verifiers) == 20  # random each time
    for verifier in verifiers:
        # §4.1: 43-128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~"
        assert 43 <= len(verifier) <= 128
        assert all(c.isascii() and (c.isalnum() or c in "-._~") for c in verifier)
        assert len(code_challenge(verifier)) == 43  # 32 hash octets, unpadded


@pytest.mark.parametrize("nbytes", [31, 97])
def test_verifier_entropy_bounds(nbytes: int) -> None:
    with pytest.raises(ValueError, match="32 to 96"):
        make_code_verifier(nbytes)


@pytest.mark.parametrize(
    "verifier", ["x" * 42, "x" * 129, "a" * 42 + "=", "a" * 42 + " ", "é" * 43]
)
def test_bad_verifiers(verifier: str) -> None:
    with pytest.raises(ValueError, match="RFC 7636"):
        code_challenge(verifier)
