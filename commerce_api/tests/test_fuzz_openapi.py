"""Schemathesis fuzzing of the committed openapi.json against the app: no 5xx, and every response (status,
content type, headers, body) is one the document declares. Bounded per operation so the suite stays short.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from commerce_api.app import create_app
from commerce_api.db import Database
from commerce_api.export_openapi import OPENAPI_PATH
from commerce_api.seed import reset
from commerce_api.settings import Settings
from commerce_api.tests.conftest import AUTH, TOKEN

EXAMPLES_PER_OPERATION = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Hypothesis keeps caches in .hypothesis/ of the working directory: keep them out of the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "commerce-api-hypothesis")

# Besides the random examples, schemathesis also sends its coverage phase's boundary cases per operation.
schema = schemathesis.openapi.from_path(OPENAPI_PATH)


@pytest.fixture(scope="module")
def fuzzed_app(database: Database, db_url: str) -> Iterator[asgi.ASGIClient]:
    """One seeded app per database for the whole module: fuzzing may change its data, nothing checks it.

    One client for every call: schemathesis would otherwise start the app (and its lifespan) per example.
    """
    reset(database=database)
    app = create_app(Settings(database_url=db_url, token=TOKEN, seed_on_start="never"), database=database)
    with asgi.get_client(app) as client:
        yield client
    reset(database=database)  # leave the demo shop as the other tests expect it


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,  # no .hypothesis/ example database in the working tree
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi(case: schemathesis.Case, fuzzed_app: asgi.ASGIClient) -> None:
    response = case.call(session=fuzzed_app, base_url=f"http://{asgi.HOST}", headers=AUTH)
    case.validate_response(response, checks=CHECKS)
