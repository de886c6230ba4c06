"""The StateMachine helper: tables as data, everything else refused."""

from __future__ import annotations

from enum import StrEnum

import pytest

from platform_core.shared.errors import ConflictError, ErrorCode, IllegalTransition
from platform_core.shared.state_machine import StateMachine


class Light(StrEnum):
    RED = "red"
    GREEN = "green"
    OFF = "off"


class Press(StrEnum):
    GO = "go"
    STOP = "stop"
    UNPLUG = "unplug"


MACHINE: StateMachine[Light, Press] = StateMachine(
    name="light",
    initial=Light.RED,
    transitions={
        (Light.RED, Press.GO): Light.GREEN,
        (Light.GREEN, Press.STOP): Light.RED,
        (Light.RED, Press.UNPLUG): Light.OFF,
    },
    terminal=frozenset({Light.OFF}),
)


def test_table_transitions_are_followed() -> None:
    """A pair in the table yields its target state."""
    assert MACHINE.next_state(Light.RED, Press.GO) is Light.GREEN
    assert MACHINE.can(Light.GREEN, Press.STOP)
    assert MACHINE.triggers_from(Light.RED) == [Press.GO, Press.UNPLUG]


def test_pairs_outside_the_table_are_conflicts_naming_machine_state_and_trigger() -> None:
    """An illegal transition is a CONFLICT error with machine, state and trigger."""
    with pytest.raises(IllegalTransition) as raised:
        MACHINE.next_state(Light.OFF, Press.GO)
    error = raised.value
    assert isinstance(error, ConflictError)
    assert error.code is ErrorCode.CONFLICT
    assert error.details == {"machine": "light", "state": "off", "trigger": "go"}


def test_states_and_terminals() -> None:
    """States come from the enum; terminal states are declared."""
    assert MACHINE.states == [Light.RED, Light.GREEN, Light.OFF]
    assert MACHINE.is_terminal(Light.OFF)
    assert not MACHINE.is_terminal(Light.RED)
