"""The search state machine: one table of legal transitions, checked on every state write."""

from enum import StrEnum

from jobs.errors import IllegalTransitionError


class State(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})

TRANSITIONS: dict[State, frozenset[State]] = {
    # queued -> cancelled: nothing runs yet, so a cancel takes effect at once;
    # queued -> failed: the task could not be handed to the broker.
    State.QUEUED: frozenset({State.RUNNING, State.CANCELLED, State.FAILED}),
    # running -> queued: the lease expired (the worker died) or the worker shut down mid-search;
    # the search resumes from its last checkpoint.
    State.RUNNING: frozenset(
        {State.SUCCEEDED, State.FAILED, State.CANCELLING, State.QUEUED},
    ),
    # A search may finish (or fail) before its worker sees the cancel request.
    State.CANCELLING: frozenset({State.CANCELLED, State.SUCCEEDED, State.FAILED}),
    State.SUCCEEDED: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELLED: frozenset(),
}


def check_transition(current: str, target: State) -> State:
    """Return the target state when the move is legal, else raise IllegalTransitionError."""
    if target not in TRANSITIONS[State(current)]:
        raise IllegalTransitionError(current, target)
    return target
