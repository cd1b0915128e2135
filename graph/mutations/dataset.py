from __future__ import annotations

import strawberry

from domain import datasets
from graph.context import Info
from graph.permissions import IsAdmin
from graph.types.job import Job


@strawberry.input(description="A dataset folder to register (or re-index) from under a data root.")
class RegisterDatasetInput:
    path: str = strawberry.field(
        description=(
            "The folder, absolute or relative to the first data root; it must hold info.json and episodes/."
        )
    )
    name: str | None = strawberry.field(
        default=None, description="Display name; default the name in info.json."
    )


@strawberry.type
class DatasetMutations:
    @strawberry.mutation(
        description=(
            "Index a dataset folder as a job (watch it with `jobUpdates`). The folder and its info.json "
            "are checked at once; registering a folder again re-indexes the same dataset (admins only)."
        ),
        permission_classes=[IsAdmin],
    )
    async def register_dataset(self, info: Info, input: RegisterDatasetInput) -> Job:
        job = await datasets.register_dataset(
            info.context.runtime, input.path, input.name, field="input.path"
        )
        return Job.from_row(job)
