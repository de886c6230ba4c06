"""Drift detection rules: classification of every legacy id and the sync report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_core.legacy.model import (
    CompanyMirror,
    CompanyRecord,
    DeviceMirror,
    DeviceRecord,
    FieldDifference,
    FindingKind,
    LegacyEvent,
    MirrorKind,
    SyncReport,
    compare_mirrors,
)
from platform_core.shared.errors import ValidationError
from platform_core.testing.legacy import mirror_lists

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def company(legacy_id: str, fetched_at: datetime = NOW, **changes: str) -> CompanyMirror:
    record = CompanyRecord(
        legacy_id=legacy_id,
        name=changes.get("name", "Acme"),
        status=changes.get("status", "active"),
    )
    return CompanyMirror.from_record(record, fetched_at)


def kinds(findings: tuple[object, ...]) -> list[tuple[str, str]]:
    return [(f.legacy_id, str(f.kind)) for f in findings]  # type: ignore[attr-defined]


def test_identical_sides_have_no_findings() -> None:
    """Fresh local mirrors equal to the legacy records produce no findings."""
    mirrors = [company("C1"), company("C2")]

    assert compare_mirrors(MirrorKind.COMPANY, mirrors, mirrors, at=NOW, stale_after=DAY) == ()


def test_missing_is_reported_in_both_directions() -> None:
    """Legacy-only ids are missing_locally; local-only ids are missing_in_legacy."""
    local = [company("C1"), company("C2")]
    remote = [company("C2"), company("C3")]

    findings = compare_mirrors(MirrorKind.COMPANY, local, remote, at=NOW, stale_after=DAY)

    assert kinds(findings) == [("C1", "missing_in_legacy"), ("C3", "missing_locally")]
    assert findings[0].fetched_at == NOW


def test_mismatch_lists_each_differing_field() -> None:
    """A mirror whose data differs from the legacy record is mismatched, field by field."""
    local = [company("C1", name="Acme", status="active")]
    remote = [company("C1", name="Acme Ltd", status="suspended")]

    (finding,) = compare_mirrors(MirrorKind.COMPANY, local, remote, at=NOW, stale_after=DAY)

    assert finding.kind is FindingKind.MISMATCHED
    assert finding.differences == (
        FieldDifference("name", "Acme", "Acme Ltd"),
        FieldDifference("status", "active", "suspended"),
    )


def test_old_copies_are_stale_even_when_right() -> None:
    """A local copy fetched longer ago than stale_after is stale, whether or not it differs."""
    old = NOW - DAY - timedelta(seconds=1)
    local = [company("C1", fetched_at=old), company("C2", fetched_at=old, name="Old name")]
    remote = [company("C1"), company("C2")]

    findings = compare_mirrors(MirrorKind.COMPANY, local, remote, at=NOW, stale_after=DAY)

    assert kinds(findings) == [("C1", "stale"), ("C2", "mismatched"), ("C2", "stale")]


def test_a_copy_exactly_stale_after_old_is_still_fresh() -> None:
    """Staleness starts strictly after stale_after has passed."""
    local = [company("C1", fetched_at=NOW - DAY)]

    assert (
        compare_mirrors(MirrorKind.COMPANY, local, [company("C1")], at=NOW, stale_after=DAY) == ()
    )


def test_a_mirror_gone_from_legacy_is_missing_not_stale() -> None:
    """A local mirror the legacy system lacks is reported once, as missing_in_legacy."""
    local = [company("C1", fetched_at=NOW - 30 * DAY)]

    findings = compare_mirrors(MirrorKind.COMPANY, local, [], at=NOW, stale_after=DAY)

    assert kinds(findings) == [("C1", "missing_in_legacy")]


@pytest.mark.parametrize(
    ("local", "remote", "field"),
    [
        ([company("C1"), company("C1")], [], "local"),
        ([], [company("C1"), company("C1")], "remote"),
        (
            [DeviceMirror.from_record(DeviceRecord("D1", "SN-1", "active"), NOW)],
            [],
            "local",
        ),
    ],
)
def test_inconsistent_inputs_are_refused(
    local: list[CompanyMirror], remote: list[CompanyMirror], field: str
) -> None:
    """Duplicate legacy ids or mirrors of another entity kind are refused."""
    with pytest.raises(ValidationError) as error:
        compare_mirrors(MirrorKind.COMPANY, local, remote, at=NOW, stale_after=DAY)

    assert error.value.details["field"] == field


@pytest.mark.parametrize("stale_after", [timedelta(0), -DAY])
def test_stale_after_must_be_positive(stale_after: timedelta) -> None:
    """A zero or negative stale_after is refused."""
    with pytest.raises(ValidationError) as error:
        compare_mirrors(MirrorKind.COMPANY, [], [], at=NOW, stale_after=stale_after)

    assert error.value.details["field"] == "stale_after"


def test_report_counts_findings_and_announces_drift() -> None:
    """A report with missing or mismatched mirrors counts them and emits drift_detected."""
    local = [company("C1"), company("C2", name="Old")]
    remote = [company("C2"), company("C3")]

    report, events = SyncReport.generate(
        "syn_1", MirrorKind.COMPANY, local, remote, at=NOW, stale_after=DAY
    )

    assert report.counts == {
        "missing_locally": 1,
        "missing_in_legacy": 1,
        "mismatched": 1,
        "stale": 0,
        "assignment_mismatched": 0,
    }
    assert (report.local_count, report.remote_count, report.stale_after_seconds) == (2, 2, 86400)
    assert [event.type for event in events] == [LegacyEvent.DRIFT_DETECTED]
    assert events[0].payload["counts"] == report.counts
    assert events[0].payload["entity"] == "company"
    assert events[0].aggregate_id == "syn_1"


def test_staleness_alone_is_reported_but_is_not_drift() -> None:
    """A report with only stale mirrors records them without a drift_detected event."""
    local = [company("C1", fetched_at=NOW - 2 * DAY)]

    report, events = SyncReport.generate(
        "syn_1", MirrorKind.COMPANY, local, [company("C1")], at=NOW, stale_after=DAY
    )

    assert report.count(FindingKind.STALE) == 1
    assert not report.has_drift
    assert events == []


def test_report_refuses_an_unknown_kind() -> None:
    """A report's entity kind must be company, asset or device."""
    with pytest.raises(ValidationError) as error:
        SyncReport(
            id="syn_1",
            kind="vehicle",  # type: ignore[arg-type]
            generated_at=NOW,
            stale_after_seconds=1,
            local_count=0,
            remote_count=0,
        )

    assert error.value.details["field"] == "kind"


@settings(max_examples=50)
@given(
    kind=st.sampled_from(MirrorKind),
    data=st.data(),
)
def test_every_legacy_id_is_classified_consistently(kind: MirrorKind, data: st.DataObject) -> None:
    """One-sided ids are missing once; shared ids are mismatched iff they differ, stale iff old."""
    fetched = st.sampled_from([NOW, NOW - 3 * DAY])
    local = data.draw(mirror_lists(kind, fetched))
    remote = [attrs.evolve(m, fetched_at=NOW) for m in data.draw(mirror_lists(kind))]
    findings = compare_mirrors(kind, local, remote, at=NOW, stale_after=DAY)

    ours = {m.id: m for m in local}
    theirs = {m.id: m for m in remote}
    by_id: dict[str, set[FindingKind]] = {}
    for finding in findings:
        by_id.setdefault(finding.legacy_id, set()).add(finding.kind)
    for legacy_id in ours.keys() - theirs.keys():
        assert by_id[legacy_id] == {FindingKind.MISSING_IN_LEGACY}
    for legacy_id in theirs.keys() - ours.keys():
        assert by_id[legacy_id] == {FindingKind.MISSING_LOCALLY}
    for legacy_id in ours.keys() & theirs.keys():
        found = by_id.get(legacy_id, set())
        differs = attrs.evolve(ours[legacy_id], fetched_at=NOW, version=1) != theirs[legacy_id]
        assert (FindingKind.MISMATCHED in found) == differs
        assert (FindingKind.STALE in found) == (ours[legacy_id].fetched_at < NOW - DAY)


@settings(max_examples=50)
@given(data=st.data(), kind=st.sampled_from(MirrorKind))
def test_comparing_fresh_mirrors_with_themselves_finds_nothing(
    data: st.DataObject, kind: MirrorKind
) -> None:
    """Any set of fresh mirrors compared with itself has no findings."""
    mirrors = data.draw(mirror_lists(kind, st.just(NOW)))

    assert compare_mirrors(kind, mirrors, mirrors, at=NOW, stale_after=DAY) == ()
