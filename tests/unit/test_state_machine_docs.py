"""docs/state-machines.md matches the code, and every state machine in the code is well formed."""

from __future__ import annotations

import difflib
import importlib.util
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from platform_core.shared.state_machine import StateMachine

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "render_state_machines.py"
DOC = ROOT / "docs" / "state-machines.md"


def _load_renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_state_machines", SCRIPT)
    assert spec is not None, f"cannot load {SCRIPT}"
    assert spec.loader is not None, f"cannot load {SCRIPT}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


renderer = _load_renderer()


@pytest.fixture(scope="module")
def machines() -> list[Any]:
    return list(renderer.discover())


def _problems(machines: list[Any], check: Callable[[StateMachine[Any, Any]], list[str]]) -> str:
    found = [
        f"{item.module}.{item.constant}: {problem}"
        for item in machines
        for problem in check(item.machine)
    ]
    return "\n".join(found)


def _reachable(machine: StateMachine[Any, Any]) -> set[StrEnum]:
    seen = {machine.initial}
    frontier = [machine.initial]
    while frontier:
        state = frontier.pop()
        for (source, _), target in machine.transitions.items():
            if source == state and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


# -- the generated document --------------------------------------------------------------------


def test_state_machine_docs_are_current(machines: list[Any]) -> None:
    """docs/state-machines.md equals what the renderer makes of today's transition tables."""
    expected = renderer.render(machines)
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if current != expected:
        diff = difflib.unified_diff(
            current.splitlines(), expected.splitlines(), "committed", "rendered", lineterm=""
        )
        excerpt = "\n".join(list(diff)[:40])
        pytest.fail(f"{DOC.relative_to(ROOT)} is out of date: run `make docs`\n{excerpt}")


def test_discovery_finds_machines_where_they_are_defined(machines: list[Any]) -> None:
    """The job-run machine is found once, attributed to the module that assigns it."""
    job_runs = [item for item in machines if item.machine.name == "job_run"]
    assert [(item.module, item.constant) for item in job_runs] == [
        ("platform_core.jobs.model", "JOB_RUN_MACHINE")
    ]


def test_check_mode_fails_on_a_stale_file_and_passes_on_a_fresh_one(tmp_path: Path) -> None:
    """`--check` exits 1 for a stale file without touching it, and 0 once it is rendered."""
    output = tmp_path / "state-machines.md"
    output.write_text("stale\n", encoding="utf-8")
    assert renderer.main(["--check", "--output", str(output)]) == 1
    assert output.read_text(encoding="utf-8") == "stale\n"
    assert renderer.main(["--output", str(output)]) == 0
    assert renderer.main(["--check", "--output", str(output)]) == 0


class _Light(StrEnum):
    OFF = "off"
    ON = "on"
    BURNT_OUT = "burnt-out"
    FLICKERING = "flickering"


class _Switch(StrEnum):
    FLIP = "flip"
    OVERLOAD = "overload"


_LIGHT = StateMachine(
    name="light",
    initial=_Light.OFF,
    transitions={
        (_Light.OFF, _Switch.FLIP): _Light.ON,
        (_Light.ON, _Switch.FLIP): _Light.OFF,
        (_Light.ON, _Switch.OVERLOAD): _Light.BURNT_OUT,
    },
    terminal=frozenset({_Light.BURNT_OUT}),
    derived=frozenset({_Light.FLICKERING}),
)


def test_rendering_shows_initial_terminal_and_derived_states() -> None:
    """A machine renders as a Mermaid diagram with start, end, safe ids and a derived note."""
    text = renderer.render([renderer.FoundMachine(_LIGHT, "tests", "_LIGHT")])
    for line in [
        "## `light`",
        "stateDiagram-v2",
        "    [*] --> off",
        "    off --> on : flip",
        '    state "burnt-out" as burnt_out',
        "    on --> burnt_out : overload",
        "    burnt_out --> [*]",
        "    flickering",
        "    note right of flickering : derived, never stored",
        "| `off` | initial | `flip` → `on` |",
        "| `on` |  | `flip` → `off`<br>`overload` → `burnt-out` |",
        "| `burnt-out` | terminal |  |",
        "| `flickering` | derived |  |",
    ]:
        assert line in text.splitlines(), f"missing line: {line!r}"


def test_rendering_is_deterministic(machines: list[Any]) -> None:
    """Rendering twice, also from the reversed discovery order, gives the same text."""
    assert renderer.render(machines) == renderer.render(machines)
    assert renderer.render(machines[::-1]) == renderer.render(machines)


# -- every machine in the code is well formed --------------------------------------------------


def test_machine_names_are_unique(machines: list[Any]) -> None:
    """Each machine has its own name, as IllegalTransition errors and the docs refer to it."""
    names = [item.machine.name for item in machines]
    assert len(names) == len(set(names)), f"duplicate machine names: {sorted(names)}"


def test_every_state_in_a_table_belongs_to_the_state_enum(machines: list[Any]) -> None:
    """Sources, targets, the initial state and the terminal/derived sets use the state enum."""

    def check(machine: StateMachine[Any, Any]) -> list[str]:
        states = set(machine.states)
        used = {machine.initial, *machine.terminal, *machine.derived}
        for (source, _), target in machine.transitions.items():
            used.update((source, target))
        return [f"{state!r} is not a member of {type(machine.initial).__name__}"
                for state in used - states]  # fmt: skip

    assert not (problems := _problems(machines, check)), problems


def test_triggers_are_members_of_one_enum(machines: list[Any]) -> None:
    """Every trigger of a machine is a member of the same StrEnum."""

    def check(machine: StateMachine[Any, Any]) -> list[str]:
        kinds = {type(trigger) for (_, trigger) in machine.transitions}
        if len(kinds) > 1 or not all(issubclass(kind, StrEnum) for kind in kinds):
            return [f"triggers mix types {sorted(kind.__name__ for kind in kinds)}"]
        return []

    assert not (problems := _problems(machines, check)), problems


def test_terminal_states_have_no_way_out(machines: list[Any]) -> None:
    """No transition starts from a terminal state."""

    def check(machine: StateMachine[Any, Any]) -> list[str]:
        return [f"terminal state {source} has a transition on {trigger}"
                for (source, trigger) in machine.transitions
                if source in machine.terminal]  # fmt: skip

    assert not (problems := _problems(machines, check)), problems


def test_derived_states_are_never_entered_by_a_transition(machines: list[Any]) -> None:
    """Derived states are computed, so no transition leads into them."""

    def check(machine: StateMachine[Any, Any]) -> list[str]:
        return [f"derived state {target} is the target of {source} --{trigger}-->"
                for (source, trigger), target in machine.transitions.items()
                if target in machine.derived]  # fmt: skip

    assert not (problems := _problems(machines, check)), problems


def test_every_stored_state_is_reachable_from_the_initial_state(machines: list[Any]) -> None:
    """Each state that is not derived can be reached from the initial one."""

    def check(machine: StateMachine[Any, Any]) -> list[str]:
        unreachable = set(machine.states) - machine.derived - _reachable(machine)
        return [f"state {state} cannot be reached from {machine.initial}"
                for state in sorted(unreachable)]  # fmt: skip

    assert not (problems := _problems(machines, check)), problems
