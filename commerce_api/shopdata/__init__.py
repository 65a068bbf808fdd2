"""The shops the reference API can be seeded with: each module loads one shop's rows into a session.

`demo` is the six-order demo of ARCHITECTURE.md (data written out in Python); `tau-retail` is the τ-bench
retail database in shops/tau-retail/ (dates and scans derived from the order ids, see its README).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from commerce_api.shopdata import demo, tau_retail

Loader = Callable[..., None]

LOADERS: dict[str, Loader] = {"demo": demo.load, "tau-retail": tau_retail.load}


def load_shop(session: Session, *, shop: str, now: datetime, shops_dir: Path) -> None:
    """Insert `shop`'s rows (into empty tables) inside the caller's transaction."""
    try:
        loader = LOADERS[shop]
    except KeyError:
        raise ValueError(f"unknown shop {shop!r}; one of {', '.join(LOADERS)}") from None
    loader(session, now=now, shops_dir=shops_dir)
