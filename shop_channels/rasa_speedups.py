"""One fix to Rasa 3.6's per-turn cost, applied when the channels load (every Rasa process).

`RemoteAction._validate_action_result` calls `jsonschema.validate(response, schema)`
on every action server reply, and `jsonschema.validate` first checks the *schema*
itself against the JSON Schema meta-schema: a quarter of a replica's CPU under
load (`make bench`, py-spy), for a schema that is a constant. Here the schema is
checked once and the validator reused; responses are validated exactly as before
(same errors, same message). Rasa is pinned to 3.6.21, whose method this replaces.
"""

from __future__ import annotations

from typing import Any, Dict, Text

import jsonschema
from jsonschema.exceptions import ValidationError, best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_validator = None


def _response_validator() -> Any:
    global _validator
    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        _validator = validator_class(schema)
    return _validator


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    error = best_match(_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result


__all__ = ["install", "ValidationError"]
