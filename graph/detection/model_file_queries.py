from __future__ import annotations

import strawberry

from domain.detection import model_files
from graph.context import Info
from graph.detection.model_file import PICKLE_RISK, DetectionModel
from graph.permissions import IsAnnotator


@strawberry.type
class ModelFileQueries:
    @strawberry.field(
        description=(
            "The detection model files in the server's models folder, by name (annotators; null for "
            "viewers): each is "
            "loaded once (then kept per file size and time) to tell its classes. " + PICKLE_RISK
        ),
        permission_classes=[IsAnnotator],
    )
    async def models(self, info: Info) -> list[DetectionModel] | None:
        return [DetectionModel.from_info(m) for m in await model_files.list_model_files(info.context.runtime)]
