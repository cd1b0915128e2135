"""Validation projects: the episodes they link, the labels they validate and their pass/fail criteria.

Deleting a project removes its links and test sessions, never an episode or an annotation. An ARCHIVED
project is read only: every write to it (its name, description, labels, criteria, links, test sessions
created or started, videos uploaded into it) is refused with CONFLICT until it is reactivated; it can
still be reactivated or deleted. A project with a running test session cannot be archived (stop the
session first), so nothing keeps writing into an archived one. Writers take the project's row lock
(`lock_writable_project`) in their transaction, so an archive cannot slip in between check and write.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic import dataclasses as pydantic_dataclasses
from sqlalchemy.exc import IntegrityError

from domain.accounts.users import Role, Viewer
from domain.core.errors import BadUserInput, Conflict, Forbidden, Invalid, NotFound, text, text_problem
from domain.core.runtime import Runtime
from domain.validation.metrics.verdict import Criteria as VerdictCriteria
from domain.validation.states import TestStatus
from persistence.documents import StoredCriteria
from persistence.repositories import episode as episodes_repo
from persistence.repositories import project as repo
from persistence.tables import EpisodeRow, ProjectRow


class ProjectStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


DEFAULT_MATCH_IOU = 0.5  # PASCAL VOC's and COCO AP50's


@dataclass(frozen=True)
class Criteria(VerdictCriteria):
    """What a test session must reach to pass (the bounds `judge` checks; a criterion left out is not
    checked) and the IoU a detection needs to match a box."""

    match_iou: float = DEFAULT_MATCH_IOU

    def stored(self) -> StoredCriteria:
        """As project.criteria holds it."""
        return StoredCriteria(
            min_precision=self.min_precision,
            min_recall=self.min_recall,
            min_f1=self.min_f1,
            min_ap50=self.min_ap50,
            max_p95_latency_ms=self.max_p95_latency_ms,
            match_iou=self.match_iou,
        )

    @classmethod
    def of(cls, stored: StoredCriteria) -> Criteria:
        """Criteria as stored (the model reads the keys saved before the renames); matchIou never saved
        is the default's."""
        return cls(
            min_precision=stored.min_precision,
            min_recall=stored.min_recall,
            min_f1=stored.min_f1,
            min_ap50=stored.min_ap50,
            max_p95_latency_ms=stored.max_p95_latency_ms,
            match_iou=stored.match_iou if stored.match_iou is not None else DEFAULT_MATCH_IOU,
        )


def _criteria_in_range(criteria: Criteria) -> Criteria:
    """Rates within 0..1, a positive finite latency and an IoU in (0, 1] (a request model's check)."""
    for name in ("min_precision", "min_recall", "min_f1", "min_ap50"):
        value = getattr(criteria, name)
        if value is not None and not (0.0 <= value <= 1.0):
            raise Invalid(f"must be between 0 and 1, got {value}", field=name)
    latency = criteria.max_p95_latency_ms
    if latency is not None and not (latency > 0 and math.isfinite(latency)):
        raise Invalid(f"must be a positive number of ms, got {latency}", field="max_p95_latency_ms")
    if not (0.0 < criteria.match_iou <= 1.0):
        raise Invalid(f"must be in (0, 1], got {criteria.match_iou}", field="match_iou")
    return criteria


def check_iou(value: float, field: str) -> float:
    if not (0.0 < value <= 1.0):
        raise BadUserInput(f"{field} must be in (0, 1], got {value}", field=field)
    return value


# Bounds on what one request can make a project hold.
MAX_LABELS = 1000
MAX_DESCRIPTION = 10_000


def _label_names(names: list[str]) -> list[str]:
    """At most MAX_LABELS names, each text of at most 100 characters (stripped) and listed once."""
    if len(names) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels, got {len(names)}")
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        name = name.strip()
        problem = text_problem(name, 100)
        if problem is not None:
            raise Invalid(problem, field=str(i))
        if name in seen:
            raise Invalid(f"{name!r} is listed twice", field=str(i))
        seen.add(name)
        out.append(name)
    return out


def _description(description: str | None) -> str | None:
    """Free text of several lines: at most MAX_DESCRIPTION characters, no control characters but line
    breaks and tabs (PostgreSQL refuses NUL). Blank text is kept: it clears a description."""
    if description is None or not description.strip():
        return description
    if len(description) > MAX_DESCRIPTION:
        raise ValueError(f"may have at most {MAX_DESCRIPTION} characters")
    if any((ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127 for c in description):
        raise ValueError("must not contain control characters")
    return description


ProjectName = Annotated[str, text(200)]
Description = Annotated[str | None, AfterValidator(_description)]
LabelNames = Annotated[list[str], AfterValidator(_label_names)]
CheckedCriteria = Annotated[Criteria, AfterValidator(_criteria_in_range)]


@pydantic_dataclasses.dataclass(frozen=True)
class NewProject:
    """A project to create: a unique name, a description (blank: none), the label names it validates
    and its pass/fail criteria. A pydantic dataclass: the graph checks it as it builds it
    (graph/inputs.py); the name's uniqueness is checked as it is written."""

    name: ProjectName
    description: Description = None
    labels: LabelNames = Field(default_factory=list)
    criteria: CheckedCriteria = Field(default_factory=Criteria)


@pydantic_dataclasses.dataclass(frozen=True)
class ProjectChanges:
    """What updateProject changes; None leaves a value as it is, a blank description clears it."""

    name: ProjectName | None = None
    description: Description = None
    labels: LabelNames | None = None
    criteria: CheckedCriteria | None = None

    def values(self) -> dict:
        """The project row's values to write."""
        values: dict = {}
        if self.name is not None:
            values["name"] = self.name
        if self.description is not None:
            values["description"] = self.description if self.description.strip() else None
        if self.labels is not None:
            values["labels"] = self.labels
        if self.criteria is not None:
            values["criteria"] = self.criteria.stored()
        return values


async def read_project(rt: Runtime, project_id: int, field: str = "id") -> ProjectRow:
    async with rt.sessions() as session:
        return await read_project_in(session, project_id, field)


async def read_project_in(session, project_id: int, field: str = "id") -> ProjectRow:
    """The project read in the caller's session; NOT_FOUND naming `field`."""
    row = await repo.read_project(session, project_id)
    if row is None:
        raise NotFound(f"{field}: project {project_id} does not exist", field=field)
    return row


def check_writable(project: ProjectRow, field: str) -> ProjectRow:
    if project.status == ProjectStatus.ARCHIVED:
        raise Conflict(
            f"{field}: project {project.name!r} is archived, so read only; reactivate it first "
            "(archiveProject with archived: false)",
            field=field,
        )
    return project


async def lock_writable_project(session, project_id: int, field: str) -> ProjectRow:
    """The project, locked until the transaction ends; NOT_FOUND, or CONFLICT when it is archived."""
    project = await repo.lock_project(session, project_id)
    if project is None:
        raise NotFound(f"{field}: project {project_id} does not exist", field=field)
    return check_writable(project, field)


async def read_writable_project(rt: Runtime, project_id: int, field: str) -> ProjectRow:
    """The project, for checks before a write (the write itself takes `lock_writable_project`)."""
    return check_writable(await read_project(rt, project_id, field), field)


async def projects_by_ids(rt: Runtime, ids: Sequence[int]) -> list[ProjectRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await repo.read_projects_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def list_projects(rt: Runtime, *, after_id: int | None, limit: int, status: str | None):
    async with rt.sessions() as session:
        return await repo.list_projects(session, after_id=after_id, limit=limit, status=status)


async def count_projects(rt: Runtime, status: str | None) -> int:
    async with rt.sessions() as session:
        return await repo.count_projects(session, status)


async def create_project(rt: Runtime, viewer: Viewer, new: NewProject) -> ProjectRow:
    """The project, ACTIVE and owned by the viewer; CONFLICT (name) when the name is taken."""
    values = {
        "name": new.name,
        "description": new.description if new.description and new.description.strip() else None,
        "labels": new.labels,
        "criteria": new.criteria.stored(),
        "owner_id": viewer.user_id,
        "status": ProjectStatus.ACTIVE.value,
    }
    try:
        async with rt.sessions() as session, session.begin():
            return await repo.insert_project(session, values)
    except IntegrityError:
        raise Conflict(f"name: a project named {values['name']!r} exists", field="name") from None


async def update_project(
    rt: Runtime,
    viewer: Viewer,
    project_id: int,
    changes: ProjectChanges | None = None,
    *,
    status: ProjectStatus | None = None,
    field: str = "id",
) -> ProjectRow:
    """Make the `changes` and set the `status` given (`field` names the value that gave the project's
    id). Only its owner or an admin may; an archived project only changes its status."""
    values = changes.values() if changes is not None else {}
    try:
        async with rt.sessions() as session, session.begin():
            row = await repo.lock_project(session, project_id)
            if row is None:
                raise NotFound(f"{field}: project {project_id} does not exist", field=field)
            _check_owner(viewer, row)
            if values:  # anything but archiving or reactivating
                check_writable(row, field)
            if status is not None and status.value != row.status:
                if status is ProjectStatus.ARCHIVED:
                    await _check_nothing_running(session, row, field)
                values["status"] = status.value
            if not values:
                return row
            updated = await repo.update_project(session, project_id, values)
    except IntegrityError:
        raise Conflict(f"name: a project named {values['name']!r} exists", field="name") from None
    if updated is None:
        raise NotFound(f"{field}: project {project_id} does not exist", field=field)
    return updated


async def _check_nothing_running(session, project: ProjectRow, field: str) -> None:
    """An archived project is read only: a running test session would go on writing into it."""
    from persistence.repositories import test_session as sessions_repo

    running = [
        s.id
        for s in await sessions_repo.list_by_projects(session, [project.id])
        if s.status == TestStatus.RUNNING
    ]
    if running:
        raise Conflict(
            f"{field}: project {project.name!r} has running test sessions ({len(running)}); stop them "
            "before archiving it",
            field=field,
        )


async def delete_project(rt: Runtime, viewer: Viewer, project_id: int) -> bool:
    """Delete the project, its links and its test sessions; episodes and boxes stay."""
    async with rt.sessions() as session, session.begin():
        row = await repo.read_project(session, project_id)
        if row is None:
            return False
        _check_owner(viewer, row)
        return await repo.delete_project(session, project_id)


def _check_owner(viewer: Viewer, row: ProjectRow) -> None:
    if row.owner_id != viewer.user_id and not viewer.can(Role.ADMIN):
        raise Forbidden("only the project's owner or an admin may change or delete it")


async def _check_episodes(session, episode_ids: Sequence[int], field: str) -> list[EpisodeRow]:
    if not episode_ids:
        raise BadUserInput(f"{field}: give at least one episode", field=field)
    rows = await episodes_repo.read_episodes_by_ids(session, list(set(episode_ids)))
    missing = sorted(set(episode_ids) - {r.id for r in rows})
    if missing:
        raise NotFound(f"{field}: episodes {missing} do not exist", field=field)
    return rows


async def link_episodes(
    rt: Runtime, viewer: Viewer, project_id: int, episode_ids: Sequence[int], reason: str | None
) -> tuple[ProjectRow, int]:
    """Link episodes; those already linked stay as they were. The project and how many were new."""
    async with rt.sessions() as session, session.begin():
        project = await lock_writable_project(session, project_id, "project_id")
        await _check_episodes(session, episode_ids, "episode_ids")
        new = await repo.link_episodes(session, project_id, episode_ids, reason, viewer.user_id)
    return project, len(new)


async def unlink_episodes(
    rt: Runtime, viewer: Viewer, project_id: int, episode_ids: Sequence[int]
) -> tuple[ProjectRow, int]:
    async with rt.sessions() as session, session.begin():
        project = await lock_writable_project(session, project_id, "project_id")
        if not episode_ids:
            raise BadUserInput("episode_ids: give at least one episode", field="episode_ids")
        removed = await repo.unlink_episodes(session, project_id, episode_ids)
    return project, removed


async def linked_episode_ids(rt: Runtime, project_ids: Sequence[int]) -> list[list[int]]:
    async with rt.sessions() as session:
        links = await repo.links_by_projects(session, project_ids)
    grouped: dict[int, list[int]] = {p: [] for p in project_ids}
    for link in links:
        grouped[link.project_id].append(link.episode_id)
    return [grouped[p] for p in project_ids]


async def suggest_episodes(rt: Runtime, project_id: int, limit: int) -> list[tuple[EpisodeRow, int]]:
    """Unlinked episodes ranked by how many validated boxes of the project's labels they hold."""
    async with rt.sessions() as session:
        project = await read_project_in(session, project_id, "project_id")
        if not project.labels:
            return []
        return await repo.rank_unlinked_episodes(session, project_id, project.labels, limit)
