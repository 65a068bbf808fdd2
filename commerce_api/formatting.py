"""Wire formats shared by every endpoint: UTC clock, ISO-8601 'Z' timestamps and two-decimal money strings."""

from __future__ import annotations

from datetime import date, datetime, timezone


def utcnow() -> datetime:
    """Naive UTC 'now' at second precision (the database stores naive UTC everywhere)."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def iso_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"
