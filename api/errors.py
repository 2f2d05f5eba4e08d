"""One place that turns errors into {"error": code, "detail": ...} responses."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.schemas import ErrorBody, ValidationErrorBody
from jobs.db import DATABASE_UNAVAILABLE
from jobs.errors import ServiceError

log = logging.getLogger(__name__)
HTTP_CODES = {
    400: "unreadable_body",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
}


def error_response(status: int, code: str, detail: Any, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status)


async def service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    response = error_response(exc.status, exc.code, exc.detail, **exc.extra)
    response.headers.update(exc.headers)  # e.g. WWW-Authenticate on a 401, Retry-After on a 429
    return response


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field by its dotted path, e.g. training.batch_size."""
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(error) for error in exc.errors()]
    in_body = any(error["loc"][:1] == ("body",) for error in exc.errors())
    return error_response(422, "invalid_spec" if in_body else "invalid_request", problems)


def _problem(error: dict[str, Any]) -> dict[str, str]:
    where, *path = error["loc"]
    if error["type"] == "json_invalid":
        return {"field": "body", "message": f"the body is not valid JSON: {error['msg']}"}
    field = ".".join(str(part) for part in path) or where
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown field {field!r}: remove it (see the SearchSpec schema at /docs)"
    return {"field": field, "message": message}


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, exc.detail)


async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """The database is down or restarting: nothing the client did; worth a retry shortly."""
    log.warning("database unavailable: %s", type(exc).__name__)
    response = error_response(503, "database_unavailable", "the database is unavailable; retry")
    response.headers["Retry-After"] = "5"
    return response


async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error; the server log has it")


def document_errors(app: FastAPI) -> None:
    """Describe in the OpenAPI schema the errors that these handlers and the middleware write,
    wherever a route may meet them, so clients (and the fuzz) can rely on the document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        document = generate()
        if fresh:
            _document_error_bodies(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _document_error_bodies(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorBody, ValidationErrorBody):
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(body.pop("$defs", {}), **{model.__name__: body})
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's, never sent here
        schemas.pop(name, None)
    for operation in _operations(document):
        _document_operation_errors(operation, operation.setdefault("responses", {}))


def _document_operation_errors(operation: dict[str, Any], responses: dict[str, Any]) -> None:
    if "security" in operation:
        responses.setdefault("401", {"description": "no API key, or not a valid one"})
    if "requestBody" in operation:
        responses.setdefault("400", {"description": "the body is not text FastAPI can read"})
        responses.setdefault("413", {"description": "the body is over ADL_MAX_BODY_BYTES"})
    for status, response in responses.items():
        if status == "422":
            response["content"] = _json_body("ValidationErrorBody")
        elif status[0] in "45" and "content" not in response:
            response["content"] = _json_body("ErrorBody")


def _json_body(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in document.get("paths", {}).values() for op in path.values()]


def install(app: FastAPI) -> None:
    document_errors(app)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, database_unavailable)
    app.add_exception_handler(Exception, unexpected_error)
