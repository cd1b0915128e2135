from __future__ import annotations

from enum import Enum

import strawberry
from strawberry import relay

from domain.edits import export as episode_export
from domain.edits.export import EpisodeChoice, ExportEpisodesRequest
from graph.context import Info
from graph.edits.episode_edit_mutations import EpisodeEditsInput
from graph.ids import decode_id
from graph.inputs import checked
from graph.jobs.job import Job
from graph.permissions import IsReviewer


@strawberry.enum(description="Where exported episodes go.")
class EpisodeExportOutput(Enum):
    ZIP = "ZIP"  # a download: the job's artifactUrl
    DATASET = "DATASET"  # a new registered dataset under the first data root's exports/ folder


@strawberry.input(description="One episode to export and its edits.")
class ExportEpisodeInput:
    index: int = strawberry.field(description="The episode's index in the dataset.")
    edits: EpisodeEditsInput | None = strawberry.field(default=None, description="Edits to apply.")
    use_saved: bool = strawberry.field(default=False, description="Apply the edits saved on the episode.")


@strawberry.input(description="Episodes of a dataset to write as edited HDF5 files.")
class ExportEpisodesInput:
    dataset_id: relay.GlobalID = strawberry.field(description="The dataset.")
    episodes: list[ExportEpisodeInput] = strawberry.field(description="The episodes, in their new order.")
    output: EpisodeExportOutput = strawberry.field(
        default=EpisodeExportOutput.ZIP, description="ZIP or DATASET."
    )
    name: str | None = strawberry.field(
        default=None, description="Folder / dataset name; default <dataset>-edited."
    )


@strawberry.type
class EpisodeExportMutations:
    @strawberry.mutation(
        description=(
            "Write edited copies of episodes (frames cut, cameras transformed, annotations carried over) "
            "as a job (reviewers); every edit is checked before it starts."
        ),
        permission_classes=[IsReviewer],
    )
    async def export_episodes(self, info: Info, input: ExportEpisodesInput) -> Job:
        row = await episode_export.export_episodes(
            info.context.runtime,
            info.context.require_viewer(),
            checked(
                ExportEpisodesRequest,
                dataset_id=decode_id(input.dataset_id, "Dataset", "input.datasetId"),
                episodes=tuple(
                    EpisodeChoice(e.index, e.edits.to_json() if e.edits else None, e.use_saved)
                    for e in input.episodes
                ),
                output=episode_export.ExportOutput(input.output.value),
                name=input.name,
            ),
        )
        return Job.from_row(row)
