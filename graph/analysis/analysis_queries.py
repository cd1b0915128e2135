from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from domain.analysis.kinds import parameter_schemas
from graph.analysis.analysis import AnalysisKind, JobParameterSchema
from graph.permissions import IsViewer


@strawberry.type
class AnalysisQueries:
    @strawberry.field(
        description="The JSON Schema of each analysis kind's parameters, to build a form from.",
        permission_classes=[IsViewer],
    )
    def job_parameter_schemas(self) -> list[JobParameterSchema]:
        return [
            JobParameterSchema(kind=AnalysisKind(k.value), schema=JSON(s))
            for k, s in parameter_schemas().items()
        ]
