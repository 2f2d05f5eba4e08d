"""Typed errors of the search domain. Each carries its HTTP status and a stable code; the API
renders all of them with one handler as {"error": code, "detail": ...}."""

from typing import Any


class ServiceError(Exception):
    status: int = 500
    code: str = "internal_error"
    headers: dict[str, str] = {}  # extra HTTP headers of the response (read-only)

    def __init__(self, detail: Any, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra  # more top-level keys for the body, e.g. the search's state


class UnauthorizedError(ServiceError):
    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class QuotaExceededError(ServiceError):
    """A tenant has as many searches waiting or live as its quota allows; one must finish (or
    be cancelled) first."""

    status = 429
    code = "quota_exceeded"
    headers = {"Retry-After": "30"}


class NotFoundError(ServiceError):
    status = 404
    code = "not_found"


class ConflictError(ServiceError):
    status = 409
    code = "conflict"


class IllegalTransitionError(ConflictError):
    code = "illegal_transition"

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a search cannot go from {current} to {target}", state=current)
        self.current = current
        self.target = target


class SearchFinishedError(ConflictError):
    code = "search_finished"


class NotPausedError(ConflictError):
    code = "not_paused"


class StaleAttemptError(ConflictError):
    """A worker's write from an attempt that no longer owns the search (its lease expired and
    the search was re-queued, paused or finished without it): refused, the worker must stop."""

    code = "stale_attempt"

    def __init__(self, search_id: str, attempt: int, current: int, state: str) -> None:
        super().__init__(
            f"search {search_id} is {state} at attempt {current}; attempt {attempt} lost it",
            state=state,
        )


class GenotypeNotReadyError(ConflictError):
    code = "genotype_not_ready"


class IdempotencyKeyReusedError(ConflictError):
    code = "idempotency_key_reused"


class UnknownTenantError(NotFoundError):
    code = "unknown_tenant"


class UnknownApiKeyError(NotFoundError):
    code = "unknown_api_key"


class TenantExistsError(ConflictError):
    code = "tenant_exists"


class InvalidRequestError(ServiceError):
    status = 422
    code = "invalid_request"


class DatasetNotFoundError(InvalidRequestError):
    code = "dataset_not_found"


class BrokerUnavailableError(ServiceError):
    status = 503
    code = "broker_unavailable"


class DatasetOutsideRootError(InvalidRequestError):
    """A dataset name that is not a plain path under the data root, or that leads out of it."""

    code = "dataset_outside_data_root"
