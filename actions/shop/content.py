"""The shop's own words: answers to general questions, read from `shops/<shop>/faq.yml`.

One file a shop edits (no retraining needed): an entry per question the NLU recognises
(`faq/delivery_times` → `delivery_times`), plus `return_policy` and `out_of_scope`. Braces are
filled from the profile and the commerce API's policy ({business_hours}, {return_window_days},
{refund_timing} ...). A question the file has no answer for falls back to the domain's response.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

import yaml

from actions.shop.profile import ProfileError, get_profile, profile_path


class _Placeholders(dict):
    def __missing__(self, key: str) -> str:  # an unknown placeholder is left as written
        return "{" + key + "}"


@lru_cache(maxsize=1)
def _answers() -> Dict[str, str]:
    path = Path(profile_path()).parent / get_profile().faq_file
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ProfileError(f"{path} is not valid YAML: {error}") from None
    answers = raw.get("answers") if isinstance(raw, dict) else None
    if not isinstance(answers, dict):
        raise ProfileError(f"{path} needs a mapping `answers:` of question → {{text: ...}}")
    texts = {}
    for key, entry in answers.items():
        text = entry.get("text") if isinstance(entry, dict) else entry
        if not isinstance(text, str) or not text.strip():
            raise ProfileError(f"{path}: answers.{key} needs a text")
        texts[str(key)] = text.strip()
    return texts


def answer(key: str, **values: str) -> Optional[str]:
    """The shop's answer for `key` with its placeholders filled, or None if it has none."""
    text = _answers().get(key)
    if text is None:
        return None
    return text.format_map(_Placeholders({**get_profile().placeholders(), **values}))


def forget_answers() -> None:
    _answers.cache_clear()
