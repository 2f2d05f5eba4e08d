"""The search state machine: one table of legal transitions, checked on every state write."""

from enum import StrEnum

from jobs.errors import IllegalTransitionError


class State(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    PAUSING = "pausing"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})
# A worker attempt holds the search (and renews its lease) in these states.
LIVE = frozenset({State.RUNNING, State.CANCELLING, State.PAUSING})

TRANSITIONS: dict[State, frozenset[State]] = {
    # queued -> cancelled | paused: nothing runs yet, so the request takes effect at once;
    # queued -> failed: the task could not be handed to the broker, or attempts ran out.
    State.QUEUED: frozenset({State.RUNNING, State.CANCELLED, State.FAILED, State.PAUSED}),
    # running -> queued: the lease expired (the worker died) or the worker shut down mid-search;
    # the search resumes from its last checkpoint.
    State.RUNNING: frozenset(
        {State.SUCCEEDED, State.FAILED, State.CANCELLING, State.QUEUED, State.PAUSING},
    ),
    # pausing: the worker saves a checkpoint at its next step and lets go (or its lease
    # expires); a cancel overrides the pause. It may also finish before it sees the request.
    State.PAUSING: frozenset(
        {State.PAUSED, State.CANCELLING, State.SUCCEEDED, State.FAILED},
    ),
    # paused -> queued: resumed, continues from its checkpoint; paused -> cancelled at once.
    State.PAUSED: frozenset({State.QUEUED, State.CANCELLED}),
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
