"""Every replacement of a Rasa internal in this project: declared, checked, installed in one place.

Rasa is pinned to 3.6.21 (requirements/assistant.lock, the rasa/rasa:3.6.21 image). Each entry of
`PATCHES` names the Rasa function it replaces, why, the gain measured with it, the Rasa version it
was written for and the SHA-256 of that function's source (`inspect.getsource`) in that version.
`install()` (run by `python -m shop_server` before Rasa's CLI, never by an import) checks the
version and every hash first and replaces nothing unless all of them match, so an upgraded Rasa
whose function changed stops the server with a message naming the patch instead of running a
copy written against code that is no longer there. Installing twice is a no-op.

Where Rasa has a supported hook the project uses it and patches nothing: the channels are
`InputChannel` subclasses named in credentials.yml (shop_channels), the tracker store, lock store
and event broker are `TrackerStore` / `LockStore` / `EventBroker` subclasses named in the
endpoint files (shop_stores). What is below has no such hook in Rasa 3.6.21:

- `RemoteAction`, `EndpointConfig`, `GraphSchema` and `Event` are built by Rasa itself (the action
  from the domain, the endpoint from endpoints.yml, the schema from the model); no setting or
  subclass reaches them. `EndpointConfig.request` is replaced whole because it opens and closes
  its session inside (`async with self.session()`): overriding `session()` alone would still
  close the connection after every call.
- `Agent._create_tracker_store` is the only place the tracker store is wrapped in
  `FailSafeTrackerStore`; `rasa.core.agent.load_agent` calls `Agent(...)` with no option to skip
  the wrapper, and the wrapper catches every `Exception` a store raises, so no store subclass
  can make its errors reach the channel. It stays a guarded patch.

The speed figures were found with py-spy on a replica under `make bench` (500 conversations) and
confirmed by shorter runs of the same load (docs/performance.md): together the four speed-ups
took Rasa from 25.3 to 19.9 CPU-ms per turn, after the schema check alone had taken it (with the
batched event broker) from 91 to 42.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import inspect
import json
import os
import ssl
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Text, Tuple, Type

import aiohttp
import jsonschema
import rasa
import ujson
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, TrackerStore
from rasa.engine.graph import GraphSchema
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.exceptions import FileNotFoundException
from rasa.utils.endpoints import ClientResponseError, ContentTypeError, EndpointConfig, concat_url

WRITTEN_FOR_RASA = "3.6.21"
# Kept connections are dropped after this many idle seconds: below the 5 s after which Sanic (the
# action server, Rasa) closes them, so a request never goes out on a connection the server is closing.
KEEP_ALIVE_SECONDS = 3.0


class PatchMismatch(RuntimeError):
    """Rasa is not the version, or a replaced function not the code, a patch was written against."""


@dataclass(frozen=True)
class Patch:
    """One replaced attribute of a Rasa class, with why, what it gained and what it was checked against."""

    owner: type
    attribute: str
    replacement: Any  # what is set on `owner` (a function, or a staticmethod of one)
    why: str
    gain: str
    rasa_version: str
    source_sha256: str  # of inspect.getsource(owner.attribute) in `rasa_version`

    @property
    def name(self) -> str:
        return f"{self.owner.__name__}.{self.attribute}"


# the replaced functions, as Rasa defined them (set by install(); the replacements that delegate use them)
_originals: Dict[str, Callable[..., Any]] = {}


def original(name: str) -> Callable[..., Any]:
    """Rasa's own function that the patch `name` (e.g. "Event.resolve_by_type") replaced."""
    return _originals[name]


# ------------------------------------------------------------------ action responses: schema checked once

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


def response_checks() -> _ResponseChecks:
    global _checks
    if _checks is None:
        _checks = _ResponseChecks()
    return _checks


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    checks = response_checks()
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


# ------------------------------------------------------------------ action calls: one kept session per loop

# (loop, headers, auth) → session; a session belongs to the loop it was made on
_sessions: Dict[Tuple[int, Text, Text], Tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}


def serialise(value: Any) -> str:
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
        json_serialize=serialise,
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
    """Closes the kept sessions of the running loop (the server is stopping; nothing if none were made)."""
    loop = asyncio.get_running_loop()
    for key, (owner, session) in list(_sessions.items()):
        if owner is loop:
            await session.close()
            del _sessions[key]


# ------------------------------------------------------------------ answers that never change

_event_types: Dict[Text, Type[Event]] = {}


def _minimal_graph_schema(self: GraphSchema, targets: Optional[List[Text]] = None) -> GraphSchema:
    key = tuple(targets) if targets else None
    cache = self.__dict__.setdefault("_shop_minimal_schemas", {})
    if key not in cache:
        cache[key] = original("GraphSchema.minimal_graph_schema")(self, targets)
    return cache[key]


def _resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    known = _event_types.get(type_name)
    if known is not None:
        return known
    resolved = original("Event.resolve_by_type")(type_name, default)
    if resolved is not None and resolved is not default:
        _event_types[type_name] = resolved
    return resolved


# ------------------------------------------------------------------ tracker store errors reach the channel

def _create_tracker_store(store: Optional[TrackerStore], domain: Domain) -> TrackerStore:
    if store is None:
        return FailSafeTrackerStore(InMemoryTrackerStore(domain))
    store.domain = domain
    if getattr(store, "fail_closed", False):
        return store
    return FailSafeTrackerStore(store)


# ------------------------------------------------------------------ the declarations

PATCHES: Tuple[Patch, ...] = (
    Patch(
        RemoteAction, "_validate_action_result", _validate_action_result,
        why="Rasa calls jsonschema.validate(response, schema) on every action server reply, which first checks "
            "the constant schema itself against the meta-schema. Here the schema is checked once, and each event "
            "of a reply against the one `oneOf` branch its `event` name selects (every branch pins `event` to a "
            "constant) instead of all 23; a reply that fails is checked again by the full schema, which raises "
            "exactly Rasa's error.",
        gain="the meta-schema check was 27% of a replica's CPU (Rasa 91 → 42 CPU-ms per turn together with the "
             "batched event broker); the per-event branch a further 8%",
        rasa_version=WRITTEN_FOR_RASA,
        source_sha256="f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42",
    ),
    Patch(
        EndpointConfig, "request", _request,
        why="Rasa opens a new aiohttp session, so a new TCP connection, for every action call and serialises the "
            "tracker with the standard json. Here calls share one keep-alive session per event loop (same "
            "headers, auth and timeout) and serialise with ujson (a Rasa dependency), falling back to json for "
            "anything ujson refuses. A full copy of Rasa's method: it closes its session inside.",
        gain="json.dumps of the conversation was 6% of a replica's CPU; plus a TCP connect per action call "
             "(part of Rasa 25.3 → 19.9 CPU-ms per turn)",
        rasa_version=WRITTEN_FOR_RASA,
        source_sha256="ccdb778aed8208e23cde3c3f47eac7fbbbb735dac8f7ef7254d54451c64ad608",
    ),
    Patch(
        GraphSchema, "minimal_graph_schema", _minimal_graph_schema,
        why="Rasa walks the model's graph recursively on every parse and every prediction; the answer for a "
            "schema and a set of targets never changes, so it is kept on the schema.",
        gain="4% of a replica's CPU (part of Rasa 25.3 → 19.9 CPU-ms per turn)",
        rasa_version=WRITTEN_FOR_RASA,
        source_sha256="58dfb30335499fff7640e0d4ea6c0a715e23abc27e641b05636798db7bb4f9fe",
    ),
    Patch(
        Event, "resolve_by_type", staticmethod(_resolve_by_type),
        why="Rasa lists every subclass of Event (recursively) for every event it deserialises; the type name → "
            "class answer is kept.",
        gain="5% of a replica's CPU (part of Rasa 25.3 → 19.9 CPU-ms per turn)",
        rasa_version=WRITTEN_FOR_RASA,
        source_sha256="b5cf570fa7f286c7059ec73d8880528d03a78b28cf4e80285a46079c0fa65968",
    ),
    Patch(
        Agent, "_create_tracker_store", staticmethod(_create_tracker_store),
        why="Rasa wraps every tracker store in FailSafeTrackerStore: a store that cannot be read makes the turn "
            "go on with a brand-new conversation (no form, no slots, no verified identity), and one that cannot "
            "be written keeps the turn's events in one replica's memory. A store whose class sets "
            "`fail_closed = True` (shop_stores.tracker_store) is used as it is: the error reaches the channel, "
            "the turn stops before any action runs, the customer is asked to send the message again. Other "
            "stores are wrapped as before.",
        gain="none measured: correctness (tests/faults, tests/production/test_tracker_store.py)",
        rasa_version=WRITTEN_FOR_RASA,
        source_sha256="97499b594b45581b2c6d8ff7adb9083af24eba85654995a40350de65633ca574",
    ),
)

_installed = False


def source_sha256(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def mismatches() -> List[str]:
    """What differs between the running Rasa and what each patch was written against (empty: nothing)."""
    found_version = getattr(rasa, "__version__", "unknown")
    problems = []
    for patch in PATCHES:
        if found_version != patch.rasa_version:
            problems.append(f"{patch.name}: written for Rasa {patch.rasa_version}, found Rasa {found_version}")
            continue
        # Rasa's own function: the one kept aside once installed
        target = _originals.get(patch.name) or getattr(patch.owner, patch.attribute, None)
        try:
            found_hash = source_sha256(target)
        except (OSError, TypeError) as error:
            problems.append(f"{patch.name}: the source of Rasa's function cannot be read ({error})")
            continue
        if found_hash != patch.source_sha256:
            where = inspect.getsourcefile(target) or patch.owner.__module__
            problems.append(f"{patch.name}: the source of Rasa's function ({where}) has SHA-256 {found_hash}, "
                            f"the patch was written against {patch.source_sha256}")
    return problems


def install() -> None:
    """Replaces every declared Rasa function, after checking all of them (raises PatchMismatch, replaces nothing)."""
    global _installed
    if _installed:
        return
    problems = mismatches()
    if problems:
        raise PatchMismatch(
            "Refusing to start: shop_server.patches replaces Rasa internals that were checked only against "
            f"Rasa {WRITTEN_FOR_RASA}, and this Rasa differs:\n"
            + "".join(f"  - {problem}\n" for problem in problems)
            + "What to do: read each named function of the new Rasa against its replacement in "
              "shop_server/patches.py. If the replacement still does the same job, set that patch's `rasa_version` "
              "and `source_sha256` to the values found above; if not, rewrite or remove the patch. Or keep Rasa "
              f"at {WRITTEN_FOR_RASA} (requirements/assistant.lock, the Dockerfile's base image)."
        )
    for patch in PATCHES:
        _originals[patch.name] = getattr(patch.owner, patch.attribute)
        setattr(patch.owner, patch.attribute, patch.replacement)
    _installed = True


def installed() -> bool:
    return _installed


__all__ = ["PATCHES", "Patch", "PatchMismatch", "close_sessions", "install", "installed", "mismatches", "original"]
