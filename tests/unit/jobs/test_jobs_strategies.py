"""The public hypothesis strategies for jobs produce valid, domain-reachable values."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_core.jobs.model import JobRun, JobStatus, RetryPolicy, job_payload
from platform_core.testing.jobs import job_payloads, job_runs, queued_job_runs, retry_policies


@settings(max_examples=20)
@pytest.mark.parametrize("status", list(JobStatus))
@given(data=st.data())
def test_job_runs_can_be_pinned_to_every_status(status: JobStatus, data: st.DataObject) -> None:
    """job_runs(status) always ends in the requested status with consistent attempts."""
    job = data.draw(job_runs(status))
    assert job.status is status
    assert 0 <= job.attempts <= job.max_attempts


@settings(max_examples=50)
@given(job=queued_job_runs())
def test_queued_job_runs_are_fresh(job: JobRun) -> None:
    """Freshly enqueued runs have no attempt and default progress."""
    assert (job.status, job.attempts, job.progress) == (JobStatus.QUEUED, 0, 0)


@settings(max_examples=50)
@given(payload=job_payloads())
def test_job_payloads_are_accepted_and_survive_json(payload: dict[str, object]) -> None:
    """Generated payloads pass the domain's JSON check and round-trip through JSON."""
    assert json.loads(json.dumps(dict(job_payload(payload)))) == payload


@settings(max_examples=50)
@given(policy=retry_policies(min_attempts=2, max_attempts=4))
def test_retry_policies_respect_the_attempt_bounds(policy: RetryPolicy) -> None:
    """Policies honour the requested attempt range and a cap at least the base."""
    assert 2 <= policy.max_attempts <= 4
    assert policy.max_delay_seconds >= policy.base_delay_seconds
