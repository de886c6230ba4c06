"""The seed is idempotent and `platform-core demo` runs every lifecycle to completion."""

from __future__ import annotations

import pytest

from adapters.ids import SequentialIdGenerator
from entrypoints.bootstrap import MEMORY_URL, Settings, bootstrap
from entrypoints.cli.main import main
from entrypoints.seed import seed_catalogue
from platform_core.shared.errors import ValidationError


async def test_seeding_twice_creates_nothing_new() -> None:
    """The second seed finds every record by its natural key and records no event."""
    platform = bootstrap(Settings(database_url=MEMORY_URL), ids=SequentialIdGenerator())
    first = await seed_catalogue(platform.deps)
    async with platform.deps.uow() as uow:
        events_after_first = len(await uow.outbox.entries(limit=1000))
    second = await seed_catalogue(platform.deps)
    assert second == first
    async with platform.deps.uow() as uow:
        assert len(await uow.outbox.entries(limit=1000)) == events_after_first


def test_demo_prints_every_scenario_completed(capsys: pytest.CaptureFixture[str]) -> None:
    """Each scenario ends with a completed fulfillment and a paid invoice, and a timeline."""
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for scenario in ("happy", "failed-payment", "split-shipment", "automation-fallback"):
        assert f"== {scenario}:" in out
    assert out.count(": completed; invoice INV-") == 4
    assert out.count("timeline of ord_") == 4
    assert "order.payment_failed" in out
    assert "automation.fallback_triggered" in out
    assert "[courier ]" in out


def test_unsupported_settings_are_refused_clearly() -> None:
    """Asking for a backend this build lacks is a validation error naming the setting."""
    with pytest.raises(ValidationError) as raised:
        bootstrap(Settings(database_url="mysql://x"))
    assert raised.value.details["field"] == "database_url"
    env = Settings.from_env({"PLATFORM_QUEUE_URL": "amqp://x"})
    with pytest.raises(ValidationError) as raised:
        bootstrap(env)
    assert raised.value.details["field"] == "queue_url"
