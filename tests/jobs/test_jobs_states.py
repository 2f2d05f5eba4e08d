import itertools

import pytest

from jobs.errors import IllegalTransitionError
from jobs.states import TERMINAL, TRANSITIONS, State, check_transition

PAIRS = list(itertools.product(State, State))


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_only_the_table_allows_a_move(current: State, target: State) -> None:
    if target in TRANSITIONS[current]:
        assert check_transition(current, target) is target
    else:
        with pytest.raises(IllegalTransitionError, match=f"from {current} to {target}"):
            check_transition(current, target)


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_terminal_states_are_final(state: State) -> None:
    assert TRANSITIONS[state] == frozenset()


def test_every_state_is_reachable_from_queued() -> None:
    seen, frontier = {State.QUEUED}, [State.QUEUED]
    while frontier:
        for target in TRANSITIONS[frontier.pop()] - seen:
            seen.add(target)
            frontier.append(target)
    assert seen == set(State)
