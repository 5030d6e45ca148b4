"""One JSON error shape for every failure the API returns.

    {"error": {"status": 403, "code": "forbidden", "message": "this needs one of the roles: admin"}}

`tests/api/test_errors.py` checks that 401, 403, 404, 405, 422 and 500 all come out in this shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raise from a route to answer with the error shape."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _code_for(status)
        self.headers = headers


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_body(status: int, message: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": code or _code_for(status), "message": message}
    body.update(extra)
    return {"error": body}


def error_response(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, **extra), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, exc.code, exc.headers)

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {"where": ".".join(str(part) for part in err.get("loc", ())), "problem": err.get("msg", "")}
            for err in exc.errors()
        ]
        return error_response(422, "the request is not valid", "invalid_request", problems=problems)

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal error; the server log has the details")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
