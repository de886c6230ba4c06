"""Operations: job runs (filter, page, retry, cancel), refreshing legacy mirrors on demand and
reading the drift detection's sync reports.

Company-scoped keys have no access to these routes: job runs and mirrors span companies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from entrypoints.api.dependencies import Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.schemas import MAX_PAGE_SIZE, Body, View
from entrypoints.bootstrap import Dependencies
from platform_core.jobs.model import Backoff, JobRun, JobStatus
from platform_core.jobs.ports import JobRunFilter
from platform_core.jobs.service import (
    CancelJob,
    RetryJob,
    cancel_job,
    get_job_run,
    list_job_runs,
    retry_job,
)
from platform_core.legacy.model import (
    AttributeValue,
    CompanyMirror,
    DeviceMirror,
    DriftFinding,
    FindingKind,
    Mirror,
    MirrorKind,
    SyncReport,
)
from platform_core.legacy.service import (
    MAX_REPORTS_PAGE,
    RefreshMirror,
    get_sync_report,
    list_sync_reports,
    refresh_mirror,
)
from platform_core.shared.errors import NotFoundError

Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
MAX_REFRESH_IDS = 50


# -- bodies ----------------------------------------------------------------------------------


class CancelJobIn(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None


class RefreshIn(Body):
    legacy_ids: Annotated[
        list[Identifier],
        msgspec.Meta(min_length=1, max_length=MAX_REFRESH_IDS, description="Legacy ids to fetch"),
    ]
    max_age_seconds: (
        Annotated[
            int,
            msgspec.Meta(ge=1, description="Keep a mirror fetched at most this long ago as is"),
        ]
        | None
    ) = None


# -- views -----------------------------------------------------------------------------------


class RelatedEntityView(View):
    type: Annotated[str, msgspec.Meta(examples=["automation_step", "shipment", "order"])]
    id: str


class RetryPolicyView(View):
    backoff: Backoff
    base_delay_seconds: int
    max_delay_seconds: int
    max_attempts: int


class JobRunView(View):
    id: str
    queue: str
    job_name: str
    job_key: str
    status: JobStatus
    attempts: int
    max_attempts: int
    progress: Annotated[int, msgspec.Meta(description="Percent of the running attempt, 0..100")]
    last_error: str | None
    related: RelatedEntityView | None
    payload: dict[str, Any]
    retry_policy: RetryPolicyView
    enqueued_at: datetime
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    version: int


class JobRunPage(View):
    items: list[JobRunView]
    total: int
    limit: int
    offset: int


class MirrorView(View):
    kind: MirrorKind
    legacy_id: str
    status: str
    name: str | None
    serial_number: str | None
    company_legacy_id: str | None
    asset_legacy_id: str | None
    attributes: dict[str, AttributeValue]
    fetched_at: datetime
    version: int


class RefreshResultView(View):
    legacy_id: str
    outcome: Literal["refreshed", "not_found"]
    mirror: MirrorView | None


class RefreshView(View):
    kind: MirrorKind
    results: list[RefreshResultView]


class FieldDifferenceView(View):
    field: Annotated[str, msgspec.Meta(examples=["status", "attributes.firmware"])]
    local: Annotated[
        AttributeValue | None, msgspec.Meta(description="The mirror's value (None: absent)")
    ]
    remote: Annotated[
        AttributeValue | None, msgspec.Meta(description="The legacy system's value (None: absent)")
    ]


class FindingView(View):
    kind: FindingKind
    legacy_id: str
    differences: list[FieldDifferenceView]
    fetched_at: Annotated[
        datetime | None, msgspec.Meta(description="When the local mirror was fetched, if any")
    ]


class SyncReportSummaryView(View):
    id: str
    kind: MirrorKind
    generated_at: datetime
    stale_after_seconds: int
    local_count: int
    remote_count: int
    has_drift: Annotated[bool, msgspec.Meta(description="Something is missing or mismatched")]
    counts: Annotated[dict[str, int], msgspec.Meta(description="Findings of every kind")]


class SyncReportView(SyncReportSummaryView):
    findings: list[FindingView]


class SyncReportList(View):
    items: list[SyncReportSummaryView]
    limit: int


def job_run_view(job: JobRun) -> JobRunView:
    related = None
    if job.related_entity_type is not None and job.related_entity_id is not None:
        related = RelatedEntityView(type=job.related_entity_type, id=job.related_entity_id)
    policy = job.retry_policy
    return JobRunView(
        id=job.id,
        queue=job.queue,
        job_name=job.job_name,
        job_key=job.job_key,
        status=job.status,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        progress=job.progress,
        last_error=job.last_error,
        related=related,
        payload=dict(job.payload),
        retry_policy=RetryPolicyView(
            backoff=policy.backoff,
            base_delay_seconds=policy.base_delay_seconds,
            max_delay_seconds=policy.max_delay_seconds,
            max_attempts=policy.max_attempts,
        ),
        enqueued_at=job.enqueued_at,
        scheduled_for=job.scheduled_for,
        started_at=job.started_at,
        finished_at=job.finished_at,
        version=job.version,
    )


def mirror_view(mirror: Mirror) -> MirrorView:
    return MirrorView(
        kind=mirror.kind,
        legacy_id=mirror.id,
        status=mirror.status,
        name=None if isinstance(mirror, DeviceMirror) else mirror.name,
        serial_number=None if isinstance(mirror, CompanyMirror) else mirror.serial_number,
        company_legacy_id=None if isinstance(mirror, CompanyMirror) else mirror.company_legacy_id,
        asset_legacy_id=mirror.asset_legacy_id if isinstance(mirror, DeviceMirror) else None,
        attributes=dict(mirror.attributes),
        fetched_at=mirror.fetched_at,
        version=mirror.version,
    )


def report_summary_view(report: SyncReport) -> SyncReportSummaryView:
    return SyncReportSummaryView(
        id=report.id,
        kind=report.kind,
        generated_at=report.generated_at,
        stale_after_seconds=report.stale_after_seconds,
        local_count=report.local_count,
        remote_count=report.remote_count,
        has_drift=report.has_drift,
        counts=report.counts,
    )


def _finding_view(finding: DriftFinding) -> FindingView:
    return FindingView(
        kind=finding.kind,
        legacy_id=finding.legacy_id,
        differences=[
            FieldDifferenceView(field=each.field, local=each.local, remote=each.remote)
            for each in finding.differences
        ],
        fetched_at=finding.fetched_at,
    )


def report_view(report: SyncReport) -> SyncReportView:
    return SyncReportView(
        **msgspec.structs.asdict(report_summary_view(report)),
        findings=[_finding_view(finding) for finding in report.findings],
    )


async def _refresh_one(
    deps: Dependencies, kind: MirrorKind, legacy_id: str, data: RefreshIn, request_id: str
) -> RefreshResultView:
    command = RefreshMirror(
        kind=kind,
        legacy_id=legacy_id,
        max_age_seconds=data.max_age_seconds,
        correlation_id=request_id,
    )
    try:
        mirror = await refresh_mirror(deps, command)
    except NotFoundError:
        # One unknown id must not hide what happened to the others in the batch.
        return RefreshResultView(legacy_id=legacy_id, outcome="not_found", mirror=None)
    return RefreshResultView(legacy_id=legacy_id, outcome="refreshed", mirror=mirror_view(mirror))


# -- routes ----------------------------------------------------------------------------------


class JobRunController(Controller):
    path = "/v1/job-runs"
    tags = ["Operations"]
    opt = {"family": "operations"}

    @get(
        "/",
        summary="List job runs, newest first, with the entity each one is about",
        responses=ERRORS_READ,
    )
    async def list(
        self,
        deps: Deps,
        queue: FromQuery[str | None] = None,
        status: FromQuery[JobStatus | None] = None,
        job_name: FromQuery[str | None] = None,
        related_entity_type: FromQuery[str | None] = None,
        related_entity_id: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> JobRunPage:
        filters = JobRunFilter(queue, status, job_name, related_entity_type, related_entity_id)
        page = await list_job_runs(deps, filters, limit, offset)
        return JobRunPage(
            items=[job_run_view(job) for job in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
        )

    @get("/{job_run_id:str}", summary="Get a job run", responses=ERRORS_READ)
    async def show(self, job_run_id: FromPath[str], deps: Deps) -> JobRunView:
        return job_run_view(await get_job_run(deps, job_run_id))

    @post(
        "/{job_run_id:str}/retry",
        status_code=200,
        summary="Put a failed run back on its queue with a fresh attempt budget",
        responses=ERRORS_WRITE,
    )
    async def retry(
        self, job_run_id: FromPath[str], deps: Deps, request_id: RequestId
    ) -> JobRunView:
        return job_run_view(await retry_job(deps, RetryJob(job_run_id, request_id)))

    @post(
        "/{job_run_id:str}/cancel",
        status_code=200,
        summary="Call off a run that is queued or waiting for its retry",
        responses=ERRORS_WRITE,
    )
    async def cancel(
        self,
        job_run_id: FromPath[str],
        deps: Deps,
        request_id: RequestId,
        data: JSONBody[CancelJobIn | None] = None,
    ) -> JobRunView:
        reason = None if data is None else data.reason
        return job_run_view(await cancel_job(deps, CancelJob(job_run_id, reason, request_id)))


class LegacySyncController(Controller):
    path = "/v1/legacy-sync"
    tags = ["Operations"]
    opt = {"family": "operations"}

    @post(
        "/{entity:str}/refresh",
        status_code=200,
        summary="Fetch legacy companies, assets or devices now and update their mirrors",
        description="Each id gets its own outcome: refreshed (with the mirror) or not_found.",
        responses=ERRORS_WRITE,
    )
    async def refresh(
        self,
        entity: Annotated[MirrorKind, Parameter(description="company, asset or device")],
        data: JSONBody[RefreshIn],
        deps: Deps,
        request_id: RequestId,
    ) -> RefreshView:
        results = [
            await _refresh_one(deps, entity, legacy_id, data, request_id)
            for legacy_id in dict.fromkeys(data.legacy_ids)
        ]
        return RefreshView(kind=entity, results=results)

    @get(
        "/reports",
        summary="Drift detection reports, newest first, with their finding counts",
        responses=ERRORS_READ,
    )
    async def reports(
        self,
        deps: Deps,
        kind: Annotated[
            MirrorKind | None, Parameter(description="company, asset or device; all by default")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_REPORTS_PAGE)] = 20,
    ) -> SyncReportList:
        found = await list_sync_reports(deps, kind, limit)
        return SyncReportList(items=[report_summary_view(each) for each in found], limit=limit)

    @get(
        "/reports/{report_id:str}",
        summary="A drift detection report: stale, missing and mismatched records, field by field",
        responses=ERRORS_READ,
    )
    async def report(self, report_id: FromPath[str], deps: Deps) -> SyncReportView:
        return report_view(await get_sync_report(deps, report_id))


ROUTES = [JobRunController, LegacySyncController]
