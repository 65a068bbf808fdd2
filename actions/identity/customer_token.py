"""Logged-in shoppers: a signed token in the message metadata names the customer.

The shop's website signs a JWT (`sub` = the commerce API's customer id, `exp`
required) and the web chat sends it as `metadata.customer_token` with every
message. The customer channel checks it here and passes on only the verified
customer id and expiry (`actions.identity.login`); the token itself is dropped.
An unsigned, expired, tampered or wrongly signed token is ignored, and the
customer is verified the anonymous way (email, or name and zip) instead.
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Tuple

import jwt

from actions.config import Settings, get_settings

logger = logging.getLogger(__name__)
METADATA_KEY = "customer_token"
MAX_TOKEN_LENGTH = 4096


def customer_from_token(token: Any, settings: Optional[Settings] = None) -> Optional[str]:
    """The customer id a valid token names, else None."""
    claims = verified_claims(token, settings)
    return claims[0] if claims else None


def verified_claims(token: Any, settings: Optional[Settings] = None) -> Optional[Tuple[str, float]]:
    """(customer id, expiry as epoch seconds) of a valid token, else None."""
    settings = settings or get_settings()
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    keys = []
    if settings.customer_token_secret:
        keys.append((settings.customer_token_secret, "HS256"))
    if settings.customer_token_public_key:
        keys.append((settings.customer_token_public_key, "RS256"))
    for key, algorithm in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],  # one algorithm per key: no "alg: none", no HS/RS confusion
                audience=settings.customer_token_audience or None,
                issuer=settings.customer_token_issuer or None,
                options={"require": ["exp", "sub"], "verify_aud": bool(settings.customer_token_audience)},
            )
        except jwt.PyJWTError as error:
            logger.info("customer token rejected: %s", error.__class__.__name__)
            continue
        subject = claims.get("sub")
        if isinstance(subject, str) and subject:
            return subject, float(claims["exp"])
        return None
    return None
