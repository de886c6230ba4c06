"""State machines as data: a transition table (state, trigger) -> next state, declared once."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

import attrs

from platform_core.shared.errors import IllegalTransition

S = TypeVar("S", bound=StrEnum)
T = TypeVar("T", bound=StrEnum)


@attrs.frozen
class StateMachine(Generic[S, T]):
    """A named transition table. Anything not in `transitions` is refused with IllegalTransition.

    `derived` lists states that are computed (never stored), e.g. an invoice being overdue;
    they appear in diagrams but no transition leads into them.
    """

    name: str
    initial: S
    transitions: Mapping[tuple[S, T], S]
    terminal: frozenset[S] = frozenset()
    derived: frozenset[S] = frozenset()

    def next_state(self, state: S, trigger: T) -> S:
        try:
            return self.transitions[(state, trigger)]
        except KeyError:
            raise IllegalTransition(self.name, str(state), str(trigger)) from None

    def can(self, state: S, trigger: T) -> bool:
        return (state, trigger) in self.transitions

    def triggers_from(self, state: S) -> list[T]:
        return [trigger for (source, trigger) in self.transitions if source == state]

    @property
    def states(self) -> list[S]:
        state_type = type(self.initial)
        return list(state_type)

    def is_terminal(self, state: S) -> bool:
        return state in self.terminal
