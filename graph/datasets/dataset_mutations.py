from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON

from domain.datasets import service as datasets
from graph.context import Info
from graph.datasets.dataset import DatasetFormat
from graph.jobs.job import Job
from graph.permissions import IsAdmin


@strawberry.input(description="A dataset folder or file to register (or re-index) from under a data root.")
class RegisterDatasetInput:
    path: str = strawberry.field(
        description=(
            "A folder or a single file (a robomimic .hdf5, an ALOHA episode, a .bag, an .mcap), absolute "
            "or relative to the first data root."
        )
    )
    name: str | None = strawberry.field(
        default=None, description="Display name; default the name the format records, else the folder's."
    )
    format: DatasetFormat | None = strawberry.field(
        default=None, description="The recording format; detected from the files when left out."
    )
    options: JSON | None = strawberry.field(
        default=None,
        description=(
            "What the format cannot say itself (fps without a clock, which topic is the state, camera "
            "names): an object checked against the format's schema in `datasetFormatSchemas`."
        ),
    )


@strawberry.type
class DatasetMutations:
    @strawberry.mutation(
        description=(
            "Index a dataset folder or file as a job (watch it with `jobUpdates`). The path, its format and "
            "the options are checked at once (`BAD_USER_INPUT` naming the field, or the file and the path "
            "inside it in `extensions.file` and `extensions.where`); the job reads metadata only and its "
            "summary lists what was mapped and what was left unmapped. Registering a path again re-indexes "
            "the same dataset, reading only the files that changed (admins only)."
        ),
        permission_classes=[IsAdmin],
    )
    async def register_dataset(self, info: Info, input: RegisterDatasetInput) -> Job:
        job = await datasets.register_dataset(
            info.context.runtime,
            input.path,
            input.name,
            # A strawberry.enum_value member holds its plain value (the format name) at run time.
            format=cast(str, input.format.value) if input.format else None,
            options=input.options,
        )
        return Job.from_row(job)
