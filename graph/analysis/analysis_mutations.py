from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from domain.analysis import runs as analysis_runs
from domain.analysis import suggestions
from domain.analysis.kinds import AnalysisKind as AnalysisKindData
from graph.analysis.analysis import AnalysisKind
from graph.annotations.episode_annotation import Anomaly
from graph.context import Info
from graph.ids import decode_id
from graph.jobs.job import Job
from graph.permissions import IsAnnotator


@strawberry.input(description="One analysis over a dataset, or over some of its episodes.")
class RunAnalysisInput:
    dataset_id: relay.GlobalID = strawberry.field(description="The dataset.")
    kind: AnalysisKind = strawberry.field(description="What to compute.")
    parameters: JSON | None = strawberry.field(
        default=None, description="The kind's parameters (see jobParameterSchemas); defaults where left out."
    )
    episode_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Only these episodes of the dataset (default: all)."
    )


@strawberry.type
class AnalysisMutations:
    @strawberry.mutation(
        description=(
            "Run an analysis as a job (version 1, 2, ... per dataset and kind); follow it with jobUpdates, "
            "stop it with cancelJob. Nothing is stored until the whole run has finished."
        ),
        permission_classes=[IsAnnotator],
    )
    async def run_analysis(self, info: Info, input: RunAnalysisInput) -> Job:
        episode_ids = (
            [decode_id(e, "Episode", f"input.episodeIds[{i}]") for i, e in enumerate(input.episode_ids)]
            if input.episode_ids is not None
            else None
        )
        job = await analysis_runs.run_analysis(
            info.context.runtime,
            info.context.require_viewer(),
            decode_id(input.dataset_id, "Dataset", "input.datasetId"),
            AnalysisKindData(input.kind.value),
            input.parameters,
            episode_ids,
        )
        return Job.from_row(job)

    @strawberry.mutation(
        description=(
            "Verify a suggested anomaly (it is kept through re-runs) or dismiss it (verified: false deletes "
            "it); returns the verified suggestion, or null once dismissed."
        ),
        permission_classes=[IsAnnotator],
    )
    async def review_suggestion(self, info: Info, id: relay.GlobalID, verified: bool) -> Anomaly | None:
        row = await suggestions.review_suggestion(
            info.context.runtime, info.context.require_viewer(), decode_id(id, "Anomaly", "id"), verified
        )
        return Anomaly.from_row(row) if row else None
