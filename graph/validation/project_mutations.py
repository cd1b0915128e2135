from __future__ import annotations

import strawberry
from strawberry import relay

from domain.validation import projects
from domain.validation.projects import DEFAULT_MATCH_IOU, Criteria, NewProject, ProjectChanges, ProjectStatus
from graph.context import Info
from graph.deprecated import renamed, use
from graph.ids import decode_id, decode_ids
from graph.inputs import checked
from graph.permissions import IsReviewer
from graph.validation.project import Project


@strawberry.input(description="Pass/fail criteria; a criterion left out is not checked.")
class PassFailCriteriaInput:
    min_precision: float | None = strawberry.field(default=None, description="Lowest precision (0..1).")
    min_recall: float | None = strawberry.field(default=None, description="Lowest recall (0..1).")
    min_f1: float | None = strawberry.field(default=None, description="Lowest F1 (0..1).")
    min_ap50: float | None = strawberry.field(default=None, description="Lowest AP at IoU 0.5 (0..1).")
    max_p95_latency_ms: float | None = strawberry.field(default=None, description="Highest p95 latency, ms.")
    match_iou: float | None = strawberry.field(
        default=None, description="IoU a detection needs to match a box, (0, 1]; default 0.5."
    )
    iou_threshold: float | None = strawberry.field(
        default=None,
        description="IoU a detection needs to match a box: `matchIou`.",
        deprecation_reason=use("matchIou"),
    )

    def to_domain(self, field: str) -> Criteria:
        """The criteria; `field` is the input's path, for the error on both IoU names."""
        return Criteria(
            min_precision=self.min_precision,
            min_recall=self.min_recall,
            min_f1=self.min_f1,
            min_ap50=self.min_ap50,
            max_p95_latency_ms=self.max_p95_latency_ms,
            match_iou=renamed(
                self.match_iou,
                self.iou_threshold,
                field=f"{field}.matchIou",
                old="iouThreshold",
                default=DEFAULT_MATCH_IOU,
            ),
        )


@strawberry.input(description="A new validation project.")
class CreateProjectInput:
    name: str = strawberry.field(description="Unique name.")
    description: str | None = strawberry.field(default=None, description="What it validates.")
    labels: list[str] = strawberry.field(default_factory=list, description="Label names it validates.")
    criteria: PassFailCriteriaInput | None = strawberry.field(default=None, description="Pass/fail criteria.")


@strawberry.input(description="Changes to a project; what is left out stays.")
class UpdateProjectInput:
    id: relay.GlobalID = strawberry.field(description="The project.")
    name: str | None = strawberry.field(default=None, description="A new name.")
    description: str | None = strawberry.field(default=None, description="A new description.")
    labels: list[str] | None = strawberry.field(default=None, description="A new label set.")
    criteria: PassFailCriteriaInput | None = strawberry.field(default=None, description="New criteria.")


@strawberry.type(description="A project after episodes were linked or unlinked.")
class LinkResult:
    project: Project = strawberry.field(description="The project.")
    changed: int = strawberry.field(description="How many links were added (or removed); repeats count 0.")


@strawberry.type
class ProjectMutations:
    @strawberry.mutation(
        description="Create a validation project (reviewers).", permission_classes=[IsReviewer]
    )
    async def create_project(self, info: Info, input: CreateProjectInput) -> Project:
        new = checked(
            NewProject,
            name=input.name,
            description=input.description,
            labels=input.labels,
            criteria=input.criteria.to_domain("input.criteria") if input.criteria else Criteria(),
        )
        row = await projects.create_project(info.context.runtime, info.context.require_viewer(), new)
        return Project.from_row(row)

    @strawberry.mutation(
        description="Rename, describe, relabel or re-criterion a project (its owner or an admin).",
        permission_classes=[IsReviewer],
    )
    async def update_project(self, info: Info, input: UpdateProjectInput) -> Project:
        row = await projects.update_project(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(input.id, "Project", "input.id"),
            checked(
                ProjectChanges,
                name=input.name,
                description=input.description,
                labels=input.labels,
                criteria=input.criteria.to_domain("input.criteria") if input.criteria else None,
            ),
        )
        return Project.from_row(row)

    @strawberry.mutation(
        description="Set a project's pass/fail criteria (its owner or an admin).",
        permission_classes=[IsReviewer],
    )
    async def set_pass_fail_criteria(
        self, info: Info, project_id: relay.GlobalID, criteria: PassFailCriteriaInput
    ) -> Project:
        row = await projects.update_project(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(project_id, "Project", "projectId"),
            checked(ProjectChanges, criteria=criteria.to_domain("criteria")),
            field="project_id",
        )
        return Project.from_row(row)

    @strawberry.mutation(
        description=(
            "Archive (or with archived: false, reactivate) a project (its owner or an admin). An archived "
            "project is read only (writes to it are CONFLICT) until reactivated; it can still be deleted. "
            "CONFLICT while one of its test sessions is running."
        ),
        permission_classes=[IsReviewer],
    )
    async def archive_project(self, info: Info, id: relay.GlobalID, archived: bool = True) -> Project:
        row = await projects.update_project(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(id, "Project", "id"),
            status=ProjectStatus.ARCHIVED if archived else ProjectStatus.ACTIVE,
            field="id",
        )
        return Project.from_row(row)

    @strawberry.mutation(
        description=(
            "Delete a project with its links and test sessions (its owner or an admin); episodes and "
            "annotations stay. False if there was no such project."
        ),
        permission_classes=[IsReviewer],
    )
    async def delete_project(self, info: Info, id: relay.GlobalID) -> bool:
        return await projects.delete_project(
            info.context.runtime, info.context.require_viewer(), decode_id(id, "Project", "id")
        )

    @strawberry.mutation(
        description="Link episodes to a project with a reason; linking again changes nothing (reviewers).",
        permission_classes=[IsReviewer],
    )
    async def link_episodes(
        self,
        info: Info,
        project_id: relay.GlobalID,
        episode_ids: list[relay.GlobalID],
        reason: str | None = None,
    ) -> LinkResult:
        row, changed = await projects.link_episodes(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(project_id, "Project", "projectId"),
            decode_ids(episode_ids, "Episode", "episodeIds"),
            reason,
        )
        return LinkResult(project=Project.from_row(row), changed=changed)

    @strawberry.mutation(
        description="Unlink episodes from a project; the episodes stay (reviewers).",
        permission_classes=[IsReviewer],
    )
    async def unlink_episodes(
        self, info: Info, project_id: relay.GlobalID, episode_ids: list[relay.GlobalID]
    ) -> LinkResult:
        row, changed = await projects.unlink_episodes(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(project_id, "Project", "projectId"),
            decode_ids(episode_ids, "Episode", "episodeIds"),
        )
        return LinkResult(project=Project.from_row(row), changed=changed)
