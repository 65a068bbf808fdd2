"""Signed customer tokens: only a valid, unexpired token signed with the shop's key names a customer."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from actions.config import Settings
from actions.identity.customer_token import customer_from_token, verified_claims
from actions.identity.login import login_from_metadata

BASE = Settings(
    commerce_api_url="http://127.0.0.1:1", commerce_api_token="t", ledger_url="sqlite://", timeout_seconds=1,
    connect_timeout_seconds=1, read_retries=0, gate_ttl_minutes=15, max_verification_failures=3,
    max_failed_attempts=3,
)
SECRET = "shop-signing-secret-for-tests-0123456789"


def claims(**extra) -> dict:
    return {"sub": "cus_jane_doe", "exp": int(time.time()) + 300, **extra}


def rsa_keys():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_hs256_token_names_its_customer() -> None:
    settings = dataclasses.replace(BASE, customer_token_secret=SECRET)
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert customer_from_token(token, settings) == "cus_jane_doe"
    customer, expires_at = verified_claims(token, settings)
    assert customer == "cus_jane_doe" and expires_at > time.time()


def test_expired_unsigned_and_incomplete_tokens_are_ignored() -> None:
    settings = dataclasses.replace(BASE, customer_token_secret=SECRET)
    expired = jwt.encode(claims(exp=int(time.time()) - 5), SECRET, algorithm="HS256")
    assert customer_from_token(expired, settings) is None
    assert customer_from_token(jwt.encode(claims(), None, algorithm="none"), settings) is None
    assert customer_from_token(jwt.encode({"sub": "cus_jane_doe"}, SECRET, algorithm="HS256"), settings) is None
    assert verified_claims(None, settings) is None and verified_claims(12345, settings) is None


def test_the_channels_login_counts_only_until_it_expires() -> None:
    metadata = {"login": {"customer_id": "cus_jane_doe", "expires_at": time.time() + 60}}
    assert login_from_metadata(metadata).customer_id == "cus_jane_doe"
    assert login_from_metadata({"login": {"customer_id": "cus_jane_doe", "expires_at": time.time() - 1}}) is None
    assert login_from_metadata({"login": "cus_jane_doe"}) is None and login_from_metadata("not a dict") is None


def test_rs256_token_verifies_with_the_public_key() -> None:
    private, public = rsa_keys()
    settings = dataclasses.replace(BASE, customer_token_public_key=public)
    assert customer_from_token(jwt.encode(claims(), private, algorithm="RS256"), settings) == "cus_jane_doe"


def test_a_token_hmac_signed_with_the_public_key_is_refused() -> None:
    # The classic RS256 -> HS256 key-confusion forgery: HMAC over the token with the
    # (public) PEM as secret. PyJWT will not produce one, so it is built by hand.
    _, public = rsa_keys()
    settings = dataclasses.replace(BASE, customer_token_public_key=public)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = header + "." + b64(json.dumps(claims()).encode())
    signature = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert customer_from_token(f"{signing_input}.{b64(signature)}", settings) is None


def test_audience_and_issuer_are_checked_when_configured() -> None:
    settings = dataclasses.replace(BASE, customer_token_secret=SECRET, customer_token_audience="shop-assistant",
                                   customer_token_issuer="https://shop.example")
    good = jwt.encode(claims(aud="shop-assistant", iss="https://shop.example"), SECRET, algorithm="HS256")
    wrong = jwt.encode(claims(aud="another-app", iss="https://shop.example"), SECRET, algorithm="HS256")
    assert customer_from_token(good, settings) == "cus_jane_doe"
    assert customer_from_token(wrong, settings) is None


def test_no_key_configured_means_no_logins() -> None:
    assert customer_from_token(jwt.encode(claims(), SECRET, algorithm="HS256"), BASE) is None
