from __future__ import annotations

import strawberry
from strawberry import relay

from domain.segments import service as segments
from domain.segments import task_text, vocabulary
from graph.conflicts import showing_current
from graph.context import Info
from graph.ids import decode_id
from graph.permissions import IsAnnotator, IsReviewer
from graph.segments.segment import EpisodeSegment, EpisodeTaskText, SegmentLabel


@strawberry.input(description="A new label in a dataset's segment vocabulary.")
class CreateSegmentLabelInput:
    dataset_id: relay.GlobalID = strawberry.field(description="The dataset.")
    name: str = strawberry.field(description="The name, unique in the dataset's segment vocabulary.")
    color: str | None = strawberry.field(default=None, description="#rrggbb; default one picked by name.")
    may_overlap: bool = strawberry.field(
        default=False, description="Whether its segments may overlap an annotator's other segments."
    )


@strawberry.input(description="Changes to a segment label; what is left out stays.")
class UpdateSegmentLabelInput:
    id: relay.GlobalID = strawberry.field(description="The segment label.")
    name: str | None = strawberry.field(default=None, description="A new name.")
    color: str | None = strawberry.field(default=None, description="A new colour, #rrggbb.")
    may_overlap: bool | None = strawberry.field(default=None, description="Whether its segments may overlap.")


@strawberry.input(description="A new time segment; its times are derived from the episode's timestamps.")
class CreateEpisodeSegmentInput:
    episode_id: relay.GlobalID = strawberry.field(description="The episode.")
    label_id: relay.GlobalID = strawberry.field(description="A segment label of the episode's dataset.")
    from_frame: int = strawberry.field(description="First frame (inclusive).")
    to_frame: int = strawberry.field(description="Last frame (inclusive), not before fromFrame.")
    instruction: str | None = strawberry.field(default=None, description="The language instruction.")
    notes: str | None = strawberry.field(default=None, description="Free notes.")
    annotator_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Whose segment (reviewers only); default the viewer's own."
    )


@strawberry.input(description="A segment's new content, replacing all of it.")
class UpdateEpisodeSegmentInput:
    id: relay.GlobalID = strawberry.field(description="The segment.")
    expected_version: int = strawberry.field(description="The version this change replaces.")
    label_id: relay.GlobalID = strawberry.field(description="A segment label of the episode's dataset.")
    from_frame: int = strawberry.field(description="First frame (inclusive).")
    to_frame: int = strawberry.field(description="Last frame (inclusive), not before fromFrame.")
    instruction: str | None = strawberry.field(default=None, description="The language instruction.")
    notes: str | None = strawberry.field(default=None, description="Free notes.")


@strawberry.input(description="A correction of an episode's task text.")
class CorrectEpisodeTaskTextInput:
    episode_id: relay.GlobalID = strawberry.field(description="The episode.")
    text: str = strawberry.field(description="The corrected task text (language instruction).")
    expected_version: int | None = strawberry.field(
        default=None, description="The version this correction replaces; none for the first."
    )


@strawberry.type
class SegmentMutations:
    @strawberry.mutation(
        description="Add a label to a dataset's segment vocabulary (reviewers).",
        permission_classes=[IsReviewer],
    )
    async def create_segment_label(self, info: Info, input: CreateSegmentLabelInput) -> SegmentLabel:
        row = await vocabulary.create_segment_label(
            info.context.runtime,
            decode_id(input.dataset_id, "Dataset", "input.datasetId"),
            input.name,
            input.color,
            input.may_overlap,
        )
        return SegmentLabel.from_row(row)

    @strawberry.mutation(
        description="Rename or recolour a segment label, or say whether it may overlap (reviewers).",
        permission_classes=[IsReviewer],
    )
    async def update_segment_label(self, info: Info, input: UpdateSegmentLabelInput) -> SegmentLabel:
        row = await vocabulary.update_segment_label(
            info.context.runtime,
            decode_id(input.id, "SegmentLabel", "input.id"),
            input.name,
            input.color,
            input.may_overlap,
        )
        return SegmentLabel.from_row(row)

    @strawberry.mutation(
        description="Delete an unused segment label (reviewers); CONFLICT while in use; false if none",
        permission_classes=[IsReviewer],
    )
    async def delete_segment_label(self, info: Info, id: relay.GlobalID) -> bool:
        return await vocabulary.delete_segment_label(
            info.context.runtime, decode_id(id, "SegmentLabel", "id")
        )

    @strawberry.mutation(
        description="Mark a time segment (annotators their own, reviewers anyone's); version 1.",
        permission_classes=[IsAnnotator],
    )
    async def create_episode_segment(self, info: Info, input: CreateEpisodeSegmentInput) -> EpisodeSegment:
        row = await segments.create_segment(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(input.episode_id, "Episode", "input.episodeId"),
            segments.SegmentDraft(
                label_id=decode_id(input.label_id, "SegmentLabel", "input.labelId"),
                from_frame=input.from_frame,
                to_frame=input.to_frame,
                instruction=input.instruction,
                notes=input.notes,
            ),
            annotator_id=decode_id(input.annotator_id, "User", "input.annotatorId"),
        )
        return EpisodeSegment.from_row(row)

    @strawberry.mutation(
        description=(
            "Change a time segment (annotators their own, reviewers anyone's). expectedVersion must be its "
            "current version, or the answer is CONFLICT with the current version and content."
        ),
        permission_classes=[IsAnnotator],
    )
    async def update_episode_segment(self, info: Info, input: UpdateEpisodeSegmentInput) -> EpisodeSegment:
        segment_id = decode_id(input.id, "EpisodeSegment", "input.id")
        draft = segments.SegmentDraft(
            label_id=decode_id(input.label_id, "SegmentLabel", "input.labelId"),
            from_frame=input.from_frame,
            to_frame=input.to_frame,
            instruction=input.instruction,
            notes=input.notes,
        )
        async with showing_current(info, relay.GlobalID("EpisodeSegment", str(segment_id)), "EpisodeSegment"):
            row = await segments.update_segment(
                info.context.runtime,
                info.context.require_viewer(),
                segment_id,
                draft,
                expected_version=input.expected_version,
            )
        return EpisodeSegment.from_row(row)

    @strawberry.mutation(
        description=(
            "Delete a time segment (annotators their own, reviewers anyone's) at expectedVersion "
            "(CONFLICT otherwise); false if none."
        ),
        permission_classes=[IsAnnotator],
    )
    async def delete_episode_segment(self, info: Info, id: relay.GlobalID, expected_version: int) -> bool:
        segment_id = decode_id(id, "EpisodeSegment", "id")
        async with showing_current(info, relay.GlobalID("EpisodeSegment", str(segment_id)), "EpisodeSegment"):
            return await segments.delete_segment(
                info.context.runtime,
                info.context.require_viewer(),
                segment_id,
                expected_version=expected_version,
            )

    @strawberry.mutation(
        description=(
            "Correct an episode's task text (reviewers); the text before the first correction stays as "
            "`taskText.original`. Later corrections send expectedVersion (CONFLICT otherwise)."
        ),
        permission_classes=[IsReviewer],
    )
    async def correct_episode_task_text(
        self, info: Info, input: CorrectEpisodeTaskTextInput
    ) -> EpisodeTaskText:
        episode_id = decode_id(input.episode_id, "Episode", "input.episodeId")
        episode = relay.GlobalID("Episode", str(episode_id))
        async with showing_current(info, episode, "EpisodeTaskText", ("taskText",)):
            data = await task_text.correct_task_text(
                info.context.runtime,
                info.context.require_viewer().user_id,
                episode_id,
                input.text,
                expected_version=input.expected_version,
            )
        return EpisodeTaskText.from_data(data)
