from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from domain.core.errors import BadUserInput
from domain.validation import videos
from graph.context import Info
from graph.datasets.episode import Episode
from graph.ids import decode_id
from graph.permissions import IsReviewer


@strawberry.type
class VideoMutations:
    @strawberry.mutation(
        description=(
            "Upload a video file (multipart; MP4, MOV, Matroska/WebM or AVI, judged by its content, "
            "within the upload size limit) as a new dataset of one episode with the camera `video`, "
            "optionally linked to a project (reviewers). A file that is not a whole video is refused "
            "and leaves nothing behind."
        ),
        permission_classes=[IsReviewer],
    )
    async def upload_video(
        self, info: Info, file: Upload, name: str, project_id: relay.GlobalID | None = None
    ) -> Episode:
        if not hasattr(file, "read"):
            raise BadUserInput("file must be an uploaded file (a multipart request)", field="file")
        row = await videos.upload_video(
            info.context.runtime,
            info.context.require_viewer(),
            videos.VideoUpload(
                name=name,
                file_name=getattr(file, "filename", None) or "upload",
                project_id=decode_id(project_id, "Project", "projectId"),
            ),
            file,
        )
        return Episode.from_row(row)
