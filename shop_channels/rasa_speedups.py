"""Fixes to Rasa 3.6's per-turn cost, applied when the channels load (every Rasa process).

Each one replaces a single method of Rasa 3.6.21 (pinned) with one that computes the
same result more cheaply; each was found with py-spy on a replica under `make bench`
(README "Performance" has the figures):

- `RemoteAction._validate_action_result` called `jsonschema.validate(response, schema)`
  on every action server reply, which first checks the *schema* itself against the
  meta-schema: a quarter of a replica's CPU, for a constant. The schema is now checked
  once. Each event of a reply is checked against the one `oneOf` branch its `event`
  name selects (every branch pins `event` to a constant, so that branch is the only one
  that can match) instead of against all 23; a reply that fails this is checked again by
  the full schema, which raises exactly the error Rasa raised.
- `EndpointConfig.request` opened a new aiohttp session, so a new TCP connection, for
  every action call, and serialised the tracker with the standard `json`. Calls now share
  one keep-alive session per event loop (same headers, auth and timeout) and serialise with
  `ujson` (already one of Rasa's dependencies), falling back to `json` for anything
  `ujson` refuses.
- `GraphSchema.minimal_graph_schema` walked the model's graph recursively on every parse
  and every prediction; the answer for a schema and a set of targets never changes, so it
  is kept.
- `Event.resolve_by_type` listed every subclass of `Event` (recursively, checking each
  for abstractness) for every event it deserialised; the type name → class answer is kept.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import ssl
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import aiohttp
import jsonschema
import ujson
from jsonschema.exceptions import ValidationError, best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.engine.graph import GraphSchema
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.exceptions import FileNotFoundException
from rasa.utils.endpoints import ClientResponseError, ContentTypeError, EndpointConfig, concat_url

# Kept connections are dropped after this many idle seconds: below the 5 s after which
# Sanic (the action server, Rasa) closes them, so a request never goes out on a connection
# the server is closing.
KEEP_ALIVE_SECONDS = 3.0

class _ResponseChecks:
    """The action-response schema, checked once: the full validator and the per-event-type one."""

    def __init__(self) -> None:
        schema = RemoteAction.action_response_format_spec()
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        self.full = validator_class(schema)
        self.by_event: Optional[Dict[Text, Any]] = {}
        self.without_branches = None
        event_schema = schema["properties"]["events"]["items"]
        for branch in event_schema["oneOf"]:
            name = branch.get("properties", {}).get("event", {}).get("const")
            if not isinstance(name, str) or name in self.by_event:
                self.by_event = None  # no single branch per name: always use the full schema
                break
            self.by_event[name] = validator_class(branch)
        if self.by_event is not None:
            outer = copy.deepcopy(schema)
            del outer["properties"]["events"]["items"]["oneOf"]
            self.without_branches = validator_class(outer)

    def quick_valid(self, result: Any) -> bool:
        """True only if the full schema accepts `result` (False: ask the full schema)."""
        if self.by_event is None or not self.without_branches.is_valid(result):
            return False
        for event in result.get("events") or []:  # objects with an "event" string: checked above
            branch = self.by_event.get(event["event"])
            if branch is None or not branch.is_valid(event):
                return False
        return True


_checks: Optional[_ResponseChecks] = None


def _response_checks() -> _ResponseChecks:
    global _checks
    if _checks is None:
        _checks = _ResponseChecks()
    return _checks


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    checks = _response_checks()
    if checks.quick_valid(result):
        return True
    error = best_match(checks.full.iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


# ------------------------------------------------------------------ one keep-alive session per loop

# (loop, headers, auth) → session; a session belongs to the loop it was made on
_sessions: Dict[Tuple[int, Text, Text], Tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}


def _serialise(value: Any) -> str:
    try:
        return ujson.dumps(value)
    except (TypeError, OverflowError, ValueError):  # what ujson refuses, json may still write (as Rasa did)
        return json.dumps(value)


def _shared_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """The kept session for this endpoint's headers and auth on the running loop."""
    loop = asyncio.get_running_loop()
    key = (id(loop), repr(sorted((endpoint.headers or {}).items())), repr(endpoint.basic_auth))
    kept = _sessions.get(key)
    if kept is not None and kept[0] is loop and not kept[1].closed:
        return kept[1]
    for stale in [k for k, (old_loop, old) in _sessions.items() if old.closed or old_loop.is_closed()]:
        del _sessions[stale]
    auth = endpoint.basic_auth
    session = aiohttp.ClientSession(  # the settings of Rasa's EndpointConfig.session()
        headers=endpoint.headers,
        auth=aiohttp.BasicAuth(auth["username"], auth["password"]) if auth else None,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        json_serialize=_serialise,
        connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS, limit=0),
    )
    _sessions[key] = (loop, session)
    return session


async def _request(
    self: EndpointConfig, method: Text = "post", subpath: Optional[Text] = None,
    content_type: Optional[Text] = "application/json", compress: bool = False, **kwargs: Any,
) -> Optional[Any]:
    """Rasa 3.6.21's `EndpointConfig.request`, on the kept session."""
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if "headers" in kwargs:
        headers.update(kwargs["headers"])
        del kwargs["headers"]
    if self.headers:
        headers.update(self.headers)
    url = concat_url(self.url, subpath)
    sslcontext = None
    if self.cafile:
        try:
            sslcontext = ssl.create_default_context(cafile=self.cafile)
        except FileNotFoundError as e:
            raise FileNotFoundException(
                f"Failed to find certificate file, '{os.path.abspath(self.cafile)}' does not exist."
            ) from e
    async with _shared_session(self).request(
        method, url, headers=headers, params=self.combine_parameters(kwargs), compress=compress,
        ssl=sslcontext, **kwargs,
    ) as response:
        if response.status >= 400:
            raise ClientResponseError(response.status, response.reason, await response.content.read())
        try:
            return await response.json()
        except ContentTypeError:
            return None


async def close_sessions() -> None:
    """Closes the kept sessions of the running loop (the server is stopping)."""
    loop = asyncio.get_running_loop()
    for key, (owner, session) in list(_sessions.items()):
        if owner is loop:
            await session.close()
            del _sessions[key]


# ------------------------------------------------------------------ answers that never change

_original_minimal_graph_schema = GraphSchema.minimal_graph_schema
_original_resolve_by_type = Event.resolve_by_type
_event_types: Dict[Text, Type[Event]] = {}


def _minimal_graph_schema(self: GraphSchema, targets: Optional[List[Text]] = None) -> GraphSchema:
    key = tuple(targets) if targets else None
    cache = self.__dict__.setdefault("_shop_minimal_schemas", {})
    if key not in cache:
        cache[key] = _original_minimal_graph_schema(self, targets)
    return cache[key]


def _resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    known = _event_types.get(type_name)
    if known is not None:
        return known
    resolved = _original_resolve_by_type(type_name, default)
    if resolved is not None and resolved is not default:
        _event_types[type_name] = resolved
    return resolved


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result
    EndpointConfig.request = _request
    GraphSchema.minimal_graph_schema = _minimal_graph_schema
    Event.resolve_by_type = staticmethod(_resolve_by_type)


__all__ = ["install", "close_sessions", "ValidationError"]
