from __future__ import annotations

from enum import Enum

import strawberry
from strawberry import relay

from domain.edits import export as episode_export
from domain.edits.export import EpisodeChoice, EpisodeSelection, ExportEpisodesRequest
from domain.edits.lerobot_export import EpisodeFormat, VideoCodec
from graph.context import Info
from graph.datasets.dataset import EpisodeFilter
from graph.edits.episode_edit_mutations import EpisodeEditsInput
from graph.ids import decode_id
from graph.inputs import checked
from graph.jobs.job import Job
from graph.permissions import IsReviewer


@strawberry.enum(description="Where exported episodes go.")
class EpisodeExportOutput(Enum):
    ZIP = "ZIP"  # a download: the job's artifactUrl
    DATASET = "DATASET"  # a new registered dataset under the first data root's exports/ folder


@strawberry.enum(description="The layout exported episodes are written in.")
class EpisodeExportFormat(Enum):
    HDF5 = strawberry.enum_value(
        "HDF5",
        description="annograph's HDF5 layout: episodes/episode_NNNNNN.hdf5, info.json, annotations.json.",
    )
    LEROBOT = strawberry.enum_value(
        "LEROBOT",
        description=(
            "LeRobot v3.0 (what LeRobotDataset reads): data and meta parquet files, videos several "
            "episodes per file; annotations travel as meta/episodes columns, a per-frame subtask_index "
            "with meta/subtasks.parquet, and meta/anomalies.parquet."
        ),
    )


@strawberry.enum(description="How a LeRobot export encodes its videos (yuv420p, as LeRobot does).")
class VideoCodecChoice(Enum):
    AV1 = strawberry.enum_value("AV1", description="SVT-AV1, LeRobot's default.")
    H264 = strawberry.enum_value("H264", description="libx264; needs even frame sides.")


@strawberry.input(
    description=(
        "Episodes chosen by the episode filter (rating, agreement, flagged, annotated by...) and "
        "optionally a project, in index order."
    )
)
class ExportSelectionInput:
    filter: EpisodeFilter | None = strawberry.field(default=None, description="The dataset's episode filter.")
    project_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Only episodes linked to this project."
    )
    use_saved: bool = strawberry.field(
        default=True, description="Apply each chosen episode's saved edits, if it has any."
    )


@strawberry.input(description="One episode to export and its edits.")
class ExportEpisodeInput:
    index: int = strawberry.field(description="The episode's index in the dataset.")
    edits: EpisodeEditsInput | None = strawberry.field(default=None, description="Edits to apply.")
    use_saved: bool = strawberry.field(default=False, description="Apply the edits saved on the episode.")


@strawberry.input(
    description=(
        "Episodes of a dataset to write edited (as HDF5 or LeRobot v3.0), chosen by list or by selection."
    )
)
class ExportEpisodesInput:
    dataset_id: relay.GlobalID = strawberry.field(description="The dataset.")
    episodes: list[ExportEpisodeInput] | None = strawberry.field(
        default=None, description="The episodes, in their new order (or give `selection`)."
    )
    selection: ExportSelectionInput | None = strawberry.field(
        default=None, description="Episodes chosen by filter instead of by list."
    )
    output: EpisodeExportOutput = strawberry.field(
        default=EpisodeExportOutput.ZIP, description="ZIP or DATASET."
    )
    name: str | None = strawberry.field(
        default=None, description="Folder / dataset name; default <dataset>-edited."
    )
    format: EpisodeExportFormat = strawberry.field(
        default=EpisodeExportFormat.HDF5,
        description=(
            "HDF5 or LEROBOT. Either goes to `output` (ZIP: a download; DATASET: registered again, a "
            "LeRobot export read back through annograph's LeRobot reader)."
        ),
    )
    codec: VideoCodecChoice | None = strawberry.field(
        default=None,
        description="LEROBOT videos: AV1 (default when the server's PyAV has SVT-AV1, else H264) or H264.",
    )


@strawberry.type
class EpisodeExportMutations:
    @strawberry.mutation(
        description=(
            "Write edited copies of episodes (frames cut, cameras transformed, annotations carried over) "
            "as a job (reviewers), in annograph's HDF5 layout or, with `format: LEROBOT`, as a LeRobot "
            "v3.0 dataset (the consensus rating, agreement and quality scores as meta/episodes columns, "
            "segments as the per-frame subtask_index, anomaly ranges as meta/anomalies.parquet, the task "
            "text as a reviewer corrected it). Episodes by list or by `selection` (the episode filter); "
            "every edit is checked before it starts."
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
                selection=_selection(input.selection),
                episodes=tuple(
                    EpisodeChoice(e.index, e.edits.to_json() if e.edits else None, e.use_saved)
                    for e in input.episodes or ()
                ),
                output=episode_export.ExportOutput(input.output.value),
                name=input.name,
                format=EpisodeFormat(input.format.name),
                codec=VideoCodec[input.codec.name] if input.codec is not None else None,
            ),
        )
        return Job.from_row(row)


def _selection(given: ExportSelectionInput | None) -> EpisodeSelection | None:
    if given is None:
        return None
    project = (
        decode_id(given.project_id, "Project", "input.selection.projectId") if given.project_id else None
    )
    if given.filter is None:
        return EpisodeSelection(project_id=project, use_saved=given.use_saved)
    return EpisodeSelection(given.filter.to_data(), project, given.use_saved)
