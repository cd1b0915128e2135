from __future__ import annotations

import strawberry
from strawberry import relay

from domain.annotations import drafts
from domain.annotations import service as episode_annotations
from graph.annotations.episode_annotation import AnomalyType, EpisodeAnnotation, Rating, Severity
from graph.conflicts import showing_current
from graph.context import Info
from graph.deprecated import renamed, use
from graph.ids import decode_id
from graph.permissions import IsAnnotator


@strawberry.input(description="Did the robot do its task?")
class TaskCompletenessInput:
    rating: Rating = strawberry.field(description="SUCCESS, PARTIAL, FAILURE or UNKNOWN.")
    certainty: int | None = strawberry.field(default=None, description="How sure you are of the rating, 1-5.")
    confidence: int | None = strawberry.field(
        default=None, description="How sure you are, 1-5: `certainty`.", deprecation_reason=use("certainty")
    )
    completion: float | None = strawberry.field(default=None, description="0-100 %.")
    failure_reason: str | None = strawberry.field(default=None, description="Why it failed.")
    subtask_reached: str | None = strawberry.field(default=None, description="The last subtask reached.")


@strawberry.input(description="How good the motion was, each 1-5.")
class TrajectoryQualityInput:
    smoothness: int | None = strawberry.field(default=None, description="1-5.")
    efficiency: int | None = strawberry.field(default=None, description="1-5.")
    safety: int | None = strawberry.field(default=None, description="1-5.")
    precision: int | None = strawberry.field(default=None, description="1-5.")


@strawberry.input(description="How good the recording was.")
class DataQualityInput:
    video_quality: int | None = strawberry.field(default=None, description="1-5.")
    sync_issues: bool = strawberry.field(default=False, description="Streams out of step.")
    missing_frames: bool = strawberry.field(default=False, description="Frames missing.")
    notes: str | None = strawberry.field(default=None, description="Free notes on the data.")


@strawberry.input(description="An anomaly over frames fromFrame..toFrame; times are derived by the server.")
class AnomalyInput:
    type: AnomalyType = strawberry.field(description="What went wrong.")
    severity: Severity = strawberry.field(description="How bad it was.")
    from_frame: int = strawberry.field(description="First frame (inclusive).")
    to_frame: int = strawberry.field(description="Last frame (inclusive).")
    description: str | None = strawberry.field(default=None, description="What the annotator saw.")
    auto_detected: bool = strawberry.field(default=False, description="Suggested by an analysis job.")
    verified: bool = strawberry.field(default=False, description="Confirmed by a person.")


@strawberry.input(description="An annotation of an episode; replaces the annotator's previous one.")
class SaveEpisodeAnnotationInput:
    episode_id: relay.GlobalID = strawberry.field(description="The episode.")
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version this save replaces; required when it exists (no blind overwrite)",
    )
    annotator_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Whose annotation (reviewers only); default the viewer's own."
    )
    task_completeness: TaskCompletenessInput = strawberry.field(description="Did the robot do its task?")
    trajectory_quality: TrajectoryQualityInput | None = strawberry.field(
        default=None, description="Motion quality."
    )
    data_quality: DataQualityInput | None = strawberry.field(default=None, description="Recording quality.")
    anomalies: list[AnomalyInput] = strawberry.field(
        default_factory=list, description="What went wrong, where."
    )
    notes: str | None = strawberry.field(default=None, description="Free notes.")

    def to_draft(self) -> drafts.AnnotationDraft:
        task = self.task_completeness
        motion = self.trajectory_quality or TrajectoryQualityInput()
        data = self.data_quality or DataQualityInput()
        return drafts.AnnotationDraft(
            rating=drafts.Rating(task.rating.value),
            certainty=renamed(
                task.certainty, task.confidence, field="input.taskCompleteness.certainty", old="confidence"
            ),
            completion=task.completion,
            failure_reason=task.failure_reason,
            subtask_reached=task.subtask_reached,
            smoothness=motion.smoothness,
            efficiency=motion.efficiency,
            safety=motion.safety,
            precision=motion.precision,
            video_quality=data.video_quality,
            sync_issues=data.sync_issues,
            missing_frames=data.missing_frames,
            data_notes=data.notes,
            notes=self.notes,
            anomalies=tuple(
                drafts.AnomalyDraft(
                    type=drafts.AnomalyType(a.type.value),
                    severity=drafts.Severity(a.severity.value),
                    from_frame=a.from_frame,
                    to_frame=a.to_frame,
                    description=a.description,
                    auto_detected=a.auto_detected,
                    verified=a.verified,
                )
                for a in self.anomalies
            ),
        )


@strawberry.type
class EpisodeAnnotationMutations:
    @strawberry.mutation(
        description=(
            "Create or replace an annotation (annotators their own, reviewers anyone's). With an "
            "existing annotation, expectedVersion must be its current version, or the answer is "
            "CONFLICT with the current version and content."
        ),
        permission_classes=[IsAnnotator],
    )
    async def save_episode_annotation(
        self, info: Info, input: SaveEpisodeAnnotationInput
    ) -> EpisodeAnnotation:
        viewer = info.context.require_viewer()
        episode_id = decode_id(input.episode_id, "Episode", "input.episodeId")
        annotator_id = decode_id(input.annotator_id, "User", "input.annotatorId")
        annotator = str(relay.GlobalID("User", str(annotator_id or viewer.user_id)))

        def theirs(annotations: object) -> dict | None:
            # The episode's annotations, each with its annotator's id: the one this save replaces.
            listed = annotations if isinstance(annotations, list) else []
            return next((a for a in listed if a["annotator"]["id"] == annotator), None)

        async with showing_current(
            info, relay.GlobalID("Episode", str(episode_id)), "EpisodeAnnotation", ("annotations",), theirs
        ):
            row = await episode_annotations.save_annotation(
                info.context.runtime,
                viewer,
                episode_id,
                input.to_draft(),
                expected_version=input.expected_version,
                annotator_id=annotator_id,
            )
        return EpisodeAnnotation.from_row(row)

    @strawberry.mutation(
        description="Delete an annotation (annotators their own, reviewers anyone's); false if none",
        permission_classes=[IsAnnotator],
    )
    async def delete_episode_annotation(
        self, info: Info, episode_id: relay.GlobalID, annotator_id: relay.GlobalID | None = None
    ) -> bool:
        return await episode_annotations.delete_annotation(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(episode_id, "Episode", "episodeId"),
            decode_id(annotator_id, "User", "annotatorId"),
        )
