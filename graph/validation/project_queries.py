from __future__ import annotations

import strawberry
from strawberry import relay

from domain.validation import projects
from domain.validation.projects import ProjectStatus
from graph.context import Info
from graph.core.pagination import decode_cursor, encode_cursor, page_of, page_size
from graph.ids import decode_id
from graph.permissions import IsViewer
from graph.validation.project import EpisodeSuggestion, Project, ProjectConnection
from graph.validation.project import ProjectStatus as ProjectStatusEnum


@strawberry.type
class ProjectQueries:
    @strawberry.field(
        description="Validation projects, oldest first, a page at a time; optionally of one status.",
        permission_classes=[IsViewer],
    )
    async def projects(
        self,
        info: Info,
        status: ProjectStatusEnum | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ProjectConnection:
        rt = info.context.runtime
        limit = page_size(first, rt.settings)
        after_id = decode_cursor(after, "project")
        wanted = ProjectStatus(status.value).value if status is not None else None
        rows = await projects.list_projects(rt, after_id=after_id, limit=limit + 1, status=wanted)
        for row in rows:
            info.context.loaders.project.prime(row.id, row)
        edges, page_info = page_of(
            rows,
            limit,
            lambda r: encode_cursor("project", r.id),
            Project.from_row,
            after_given=after_id is not None,
        )
        return ProjectConnection(edges=edges, page_info=page_info, status=wanted)

    @strawberry.field(
        description=(
            "Episodes not linked to the project, ranked by how many validated boxes of the project's "
            "labels they hold (episodes with none are left out)."
        ),
        permission_classes=[IsViewer],
    )
    async def suggest_episodes(
        self, info: Info, project_id: relay.GlobalID, first: int | None = None
    ) -> list[EpisodeSuggestion]:
        rt = info.context.runtime
        found = await projects.suggest_episodes(
            rt, decode_id(project_id, "Project", "projectId"), page_size(first, rt.settings)
        )
        for row, _ in found:
            info.context.loaders.episode.prime(row.id, row)
        return [EpisodeSuggestion(validated_boxes=n, episode_id=row.id, episode_row=row) for row, n in found]
