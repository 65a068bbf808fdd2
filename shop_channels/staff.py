"""Who may use the agent inbox: staff accounts, their passwords and their signed sessions.

Accounts come from one setting, `INBOX_STAFF`: comma-separated `name:hash` entries, each hash made
by `python -m shop_channels.staff hash` (scrypt from the standard library, a random salt each). No
password is stored anywhere else and none is built in: `make run` makes one for the account
`agent` on first start and keeps it in `.data/inbox-agent.password` (scripts/stack.py).

A login gives an HttpOnly, SameSite=Strict cookie holding a JWT (PyJWT, HS256, 8 hours) signed
with `INBOX_SESSION_SECRET` (or a key derived from `SESSION_SIGNING_SECRET`). Repeated wrong
passwords for one name are refused for a while (`LoginThrottle`).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

STAFF_ENV = "INBOX_STAFF"
SESSION_SECRET_ENV = "INBOX_SESSION_SECRET"
SIGNING_SECRET_ENV = "SESSION_SIGNING_SECRET"
COOKIE = "inbox_session"
AUDIENCE = "agent-inbox"
SESSION_SECONDS = 8 * 3600
# scrypt's cost: n=2**14, r=8 (~16 MB, tens of ms): slow for guessing, quick for one login
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
_fallback_secret = secrets.token_urlsafe(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: Optional[bytes] = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    # "." separates the parts: no "$" for docker compose or a shell to expand
    return f"scrypt.{SCRYPT_N}.{SCRYPT_R}.{SCRYPT_P}.{_b64(salt)}.{_b64(digest)}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split(".")
        if scheme != "scrypt":
            return False
        given = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(_unb64(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(given, _unb64(digest))


def staff_accounts(setting: Optional[str] = None) -> Dict[str, str]:
    """name → password hash, from `INBOX_STAFF` (entries that do not parse are left out)."""
    raw = os.environ.get(STAFF_ENV, "") if setting is None else setting
    accounts: Dict[str, str] = {}
    for entry in raw.split(","):
        name, sep, stored = entry.strip().partition(":")
        if sep and name and set(name) <= NAME_CHARS and stored.startswith("scrypt."):
            accounts[name] = stored
    return accounts


def check_login(name: str, password: str) -> bool:
    stored = staff_accounts().get(name)
    if stored is None:
        # the same work for an unknown name as for a wrong password: no timing tells names apart
        password_matches(password, hash_password("", salt=b"\0" * 16))
        return False
    return password_matches(password, stored)


def _session_secret() -> str:
    own = os.environ.get(SESSION_SECRET_ENV, "")
    if len(own) >= 16:
        return own
    shared = os.environ.get(SIGNING_SECRET_ENV, "")
    if len(shared) >= 16:
        # derived, so a session cookie is never valid as a web chat signature or the other way round
        return hmac.new(shared.encode(), b"agent-inbox-sessions", hashlib.sha256).hexdigest()
    return _fallback_secret  # sessions last as long as this process: fine on a laptop


def issue_session(name: str, *, now: Optional[float] = None) -> str:
    import jwt  # here, not at the top: scripts/stack.py loads this file without the venv to hash a password

    issued = int(now if now is not None else time.time())
    claims = {"sub": name, "aud": AUDIENCE, "iat": issued, "exp": issued + SESSION_SECONDS}
    return jwt.encode(claims, _session_secret(), algorithm="HS256")


def staff_of_session(token: Optional[str]) -> Optional[str]:
    """The staff name a session cookie proves, if it is intact, current and the account still exists."""
    if not token:
        return None
    import jwt

    try:
        claims = jwt.decode(token, _session_secret(), algorithms=["HS256"], audience=AUDIENCE)
    except jwt.PyJWTError:
        return None
    name = claims.get("sub")
    return name if isinstance(name, str) and name in staff_accounts() else None


@dataclass
class LoginThrottle:
    """At most `limit` wrong passwords per name in `window` seconds (per process)."""

    limit: int = 5
    window: float = 300.0
    failures: Dict[str, List[float]] = field(default_factory=dict)

    def _recent(self, name: str, now: float) -> List[float]:
        recent = [t for t in self.failures.get(name, []) if now - t < self.window]
        self.failures[name] = recent
        return recent

    def allowed(self, name: str, now: Optional[float] = None) -> bool:
        return len(self._recent(name, now or time.monotonic())) < self.limit

    def failed(self, name: str, now: Optional[float] = None) -> None:
        now = now or time.monotonic()
        self._recent(name, now).append(now)
        if len(self.failures) > 10_000:  # names are whatever is typed: keep the map bounded
            self.failures.clear()


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m shop_channels.staff hash [NAME]`: prints an `INBOX_STAFF` entry for a password."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "hash":
        print("usage: python -m shop_channels.staff hash [NAME]   (reads the password from stdin or a prompt)",
              file=sys.stderr)
        return 2
    name = args[1] if len(args) > 1 else input("staff name: ").strip()
    if not name or not set(name) <= NAME_CHARS:
        print("A name is letters, digits and . _ - @ only.", file=sys.stderr)
        return 2
    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("Use a password of at least 12 characters.", file=sys.stderr)
        return 2
    print(f"{name}:{hash_password(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
