"""The error answers routes declare in their OpenAPI entries, worded once so every route says
a 404 alike; api/errors.py adds the body schema (ErrorBody) to each of them."""

from typing import Any

Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {
    404: {"description": "no search with this id for this tenant (`not_found`)"},
}
NOT_FOUND_OR_NOT_YET: Responses = {
    404: {"description": "no search with this id for this tenant, or no such epoch"},
    409: {"description": "not decoded yet; `state` says where the search is"},
}
NO_CHECKPOINT: Responses = {
    404: {"description": "no search with this id for this tenant, or no checkpoint so named"},
}
CONFLICT: Responses = {
    409: {"description": "the search's state does not allow it; `state` says which it is in"},
}
# Every route that reads the database may meet it down; declared once on the protected router.
DATABASE_UNAVAILABLE: Responses = {
    503: {"description": "the database is unavailable, retry after Retry-After seconds"},
}
QUEUE_OR_DATABASE_UNAVAILABLE: Responses = {
    503: {"description": "the task queue or the database is unavailable; retry"},
}
