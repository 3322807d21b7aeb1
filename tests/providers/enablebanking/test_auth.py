"""The JWT Enable Banking wants, checked by decoding it with the public key; the key file refused in one line."""

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from src.providers.enablebanking.auth import JwtSigner, load_private_key
from src.providers.enablebanking.errors import MisconfiguredError

APP_ID = "0a1b2c3d-0000-4000-8000-000000000001"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _decode(token: str, key: rsa.RSAPrivateKey) -> dict[str, object]:
    # The signature and audience are verified; the times are the test clock's, checked by hand.
    return jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        audience="api.enablebanking.com",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )


def test_the_token_says_what_the_api_asks(rsa_key: rsa.RSAPrivateKey) -> None:
    clock = Clock(1_800_000_000)
    token = JwtSigner(application_id=APP_ID, private_key=rsa_key, clock=clock).token()
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": APP_ID}
    claims = _decode(token, rsa_key)
    assert claims["iss"] == "enablebanking.com"
    assert claims["iat"] == 1_800_000_000
    assert isinstance(claims["exp"], int)
    assert 0 < claims["exp"] - 1_800_000_000 <= 3600


def test_cached_until_a_minute_before_expiry_then_renewed(rsa_key: rsa.RSAPrivateKey) -> None:
    clock = Clock(1_800_000_000)
    signer = JwtSigner(application_id=APP_ID, private_key=rsa_key, clock=clock)
    first = signer.token()
    clock.now += 3600 - 61
    assert signer.token() == first
    clock.now += 1
    renewed = signer.token()
    assert renewed != first
    assert _decode(renewed, rsa_key)["iat"] == 1_800_000_000 + 3600 - 60
    signer.invalidate()
    clock.now += 1
    assert signer.token() != renewed


def test_a_lifetime_over_an_hour_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="3600"):
        JwtSigner(application_id=APP_ID, private_key=rsa_key, lifetime_seconds=3601)


def test_the_key_is_in_no_repr(rsa_key: rsa.RSAPrivateKey) -> None:
    signer = JwtSigner(application_id=APP_ID, private_key=rsa_key)
    assert repr(signer) == f"JwtSigner(application_id={APP_ID!r})"
    assert "PRIVATE" not in repr(signer)
    assert "PRIVATE" not in str(signer)


class TestKeyFile:
    def test_a_pem_key_loads(self, tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
        path = tmp_path / "app.pem"
        path.write_bytes(
            rsa_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
        assert load_private_key(path).public_key().public_numbers() == rsa_key.public_key().public_numbers()

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(MisconfiguredError, match=r"cannot read the Enable Banking private key file .*nope\.pem"):
            load_private_key(tmp_path / "nope.pem")

    def test_not_pem_and_the_content_is_not_repeated(self, tmp_path: Path) -> None:
        path = tmp_path / "app.pem"
        path.write_text("s3cret-not-a-key")
        with pytest.raises(MisconfiguredError) as caught:
            load_private_key(path)
        assert "not an unencrypted PEM private key" in str(caught.value)
        assert "s3cret" not in str(caught.value)
        assert "\n" not in str(caught.value)

    def test_not_rsa(self, tmp_path: Path) -> None:
        path = tmp_path / "ec.pem"
        path.write_bytes(
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        with pytest.raises(MisconfiguredError, match="not an RSA key"):
            load_private_key(path)
