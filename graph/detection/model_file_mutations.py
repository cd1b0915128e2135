from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from domain.core.errors import BadUserInput
from domain.detection import model_files
from graph.context import Info
from graph.detection.model_file import PICKLE_RISK, DetectionModel
from graph.permissions import IsAdmin


@strawberry.type
class ModelFileMutations:
    @strawberry.mutation(
        description=(
            "Add a detection model to the models folder (admins; multipart): a .pt checkpoint or a .yaml "
            "architecture kept as `name`, within the upload size limit. It is loaded once on arrival: a "
            "file that is no detection model is refused and not kept; a taken name is CONFLICT. "
            + PICKLE_RISK
        ),
        permission_classes=[IsAdmin],
    )
    async def upload_model(self, info: Info, file: Upload, name: str | None = None) -> DetectionModel:
        if not hasattr(file, "read"):
            raise BadUserInput("file must be an uploaded file (a multipart request)", field="file")
        given = name if name is not None else getattr(file, "filename", None) or ""
        # The name at fault is the argument when given, else the file's own name.
        field = "name" if name is not None else "file"
        found = await model_files.upload_model(info.context.runtime, given, file, field=field)
        return DetectionModel.from_info(found)

    @strawberry.mutation(
        description="Remove a model file from the models folder (admins); false when there is none.",
        permission_classes=[IsAdmin],
    )
    async def delete_model(self, info: Info, name: str) -> bool:
        return await model_files.delete_model(info.context.runtime, name)
