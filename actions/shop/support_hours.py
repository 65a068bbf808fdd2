"""When the shop's support team is in (profile `support.hours`), in words for the customer."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from actions.shop.profile import ShopProfile

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_opening(profile: ShopProfile, now: Optional[datetime] = None) -> Optional[datetime]:
    """None if the support team is in now, else when it is next in (in the shop's time zone)."""
    zone = ZoneInfo(profile.support.timezone)
    now = (now or datetime.now(zone)).astimezone(zone)
    for days_ahead in range(8):
        day = now.date() + timedelta(days=days_ahead)
        span = profile.support.hours.get(WEEKDAYS[day.weekday()])
        if not span:
            continue
        opens, closes = (time.fromisoformat(part) for part in span.split("-"))
        start = datetime.combine(day, opens, zone)
        end = datetime.combine(day, closes, zone)
        if days_ahead == 0 and start <= now < end:
            return None
        if now < start:
            return start
    return None


def when_someone_answers(profile: ShopProfile, now: Optional[datetime] = None) -> str:
    opening = next_opening(profile, now)
    if opening is None:
        return "Someone from the team will reply here shortly."
    day = "today" if opening.date() == (now or datetime.now(opening.tzinfo)).astimezone(opening.tzinfo).date() \
        else opening.strftime("%A")
    return (f"Our team is offline right now ({profile.support.hours_text}); someone will reply here when they're "
            f"back, {day} from {opening.strftime('%-I:%M %p').replace(':00', '')}.")
