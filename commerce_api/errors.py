"""The single error format of the API ({"error": {"code", "message", ...}}) and the handlers that enforce it."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


def error_payload(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def json_bytes(payload: Any) -> bytes:
    # Same compact encoding Starlette's JSONResponse uses, so stored replays look like live answers.
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class ApiError(Exception):
    """A client-facing failure with an HTTP status and a machine-readable code."""

    def __init__(
        self, *, status_code: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
    ):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra

    def payload(self) -> dict[str, Any]:
        return error_payload(self.code, self.message, **self.extra)

    def response(self) -> JSONResponse:
        return JSONResponse(self.payload(), status_code=self.status_code, headers=self.headers)


def not_found(code: str, message: str) -> ApiError:
    return ApiError(status_code=404, code=code, message=message)


_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "Missing or invalid bearer token."),
    404: ("not_found", "No such resource."),
    405: ("method_not_allowed", "This method is not allowed on this resource."),
}


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only location + message: echoing the rejected input could reflect huge or hostile strings.
    fields = [
        {"field": _field_name(err.get("loc", ())), "message": str(err.get("msg", "invalid"))} for err in exc.errors()
    ]
    return JSONResponse(
        error_payload("validation_error", "The request is invalid; see fields for details.", fields=fields),
        status_code=422,
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "The request failed."))
    return JSONResponse(
        error_payload(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _database_down(_: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", exc.__class__.__name__)
    return JSONResponse(
        error_payload("database_unavailable", "The order database is temporarily unavailable; please retry."),
        status_code=503,
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_payload("internal_error", "Something went wrong on our side."), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(Exception, _unexpected)
