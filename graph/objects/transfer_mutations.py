from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from domain.core.errors import BadUserInput
from domain.objects.transfer import exports as annotation_export
from domain.objects.transfer import imports as annotation_import
from domain.objects.transfer.formats.model import ExportFormat as ExportFormatData
from graph.context import Info
from graph.ids import decode_id
from graph.inputs import checked
from graph.jobs.job import Job
from graph.permissions import IsReviewer, IsViewer

# A GraphQL enum here is the domain's class itself, registered in place (strawberry.enum marks the class
# and returns it), so annotations name a class the type checker knows.
AnnotationFormat = ExportFormatData
strawberry.enum(
    AnnotationFormat,
    name="AnnotationFormat",
    description=(
        "COCO detection JSON, YOLO (Ultralytics), Pascal VOC XML, annograph JSON (lossless), CVAT for video "
        "1.1 XML (tracks with keyframes and outside marks; CVAT for images 1.1 reads too) or MOT 1.1 "
        "(gt/gt.txt)."
    ),
)


@strawberry.input(description="What to export: a dataset or some of its episodes, in one format.")
class ExportAnnotationsInput:
    format: AnnotationFormat = strawberry.field(description="The format.")
    dataset_id: relay.GlobalID | None = strawberry.field(default=None, description="A whole dataset.")
    episode_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Or these episodes (of one dataset)."
    )
    cameras: list[str] | None = strawberry.field(default=None, description="Only these cameras.")
    only_validated: bool = strawberry.field(default=False, description="Only boxes a reviewer validated.")
    include_images: bool = strawberry.field(
        default=False, description="Put the frames (JPEG) in the zip too."
    )
    negatives: bool = strawberry.field(
        default=False,
        description=(
            "Also list frames without boxes, as background images (Ultralytics counts them): every frame "
            "of the selected episodes and cameras, so the export has as many images as the selection has "
            "frames (with includeImages, a JPEG each). COCO lists them in its `default` subset."
        ),
    )
    voc_one_based: bool = strawberry.field(
        default=False,
        description=(
            "Pascal VOC: write xmin/ymin as the 1-based devkit reads them (xmin = x + 1). Default: as CVAT "
            "and datumaro read them (xmin = x, xmax = x + width)."
        ),
    )


@strawberry.input(description="A file of annotations to add to a dataset (all or nothing).")
class ImportAnnotationsInput:
    dataset_id: relay.GlobalID = strawberry.field(description="The dataset.")
    file: Upload = strawberry.field(description="A COCO/annograph JSON file, or a zip of any of the formats.")
    format: AnnotationFormat | None = strawberry.field(default=None, description="Default: detected.")
    create_missing_labels: bool = strawberry.field(
        default=False, description="Add class names the label set lacks instead of failing."
    )


@strawberry.type(description="What an import added.")
class ImportResult:
    format: AnnotationFormat = strawberry.field(description="The format read.")
    images: int = strawberry.field(description="Images (frames) the file listed.")
    boxes: int = strawberry.field(description="Boxes added.")
    tracks: int = strawberry.field(description="Tracks the boxes belong to.")
    episodes: int = strawberry.field(description="Episodes that received boxes.")
    episode_annotations: int = strawberry.field(description="Episode annotations added (annograph JSON).")
    labels_created: list[str] = strawberry.field(description="Labels added to the label set.")


@strawberry.type
class AnnotationTransferMutations:
    @strawberry.mutation(
        description=(
            "Export boxes as a zip in COCO, YOLO, Pascal VOC or annograph JSON, as a job; the finished "
            "job has `artifactUrl` and its summary a fidelity report (what the format could not carry)."
        ),
        permission_classes=[IsViewer],
    )
    async def export_annotations(self, info: Info, input: ExportAnnotationsInput) -> Job:
        request = checked(
            annotation_export.ExportRequest,
            format=ExportFormatData(input.format.value),
            dataset_id=decode_id(input.dataset_id, "Dataset", "input.datasetId"),
            episode_ids=tuple(
                decode_id(e, "Episode", f"input.episodeIds[{i}]") for i, e in enumerate(input.episode_ids)
            )
            if input.episode_ids is not None
            else None,
            cameras=tuple(input.cameras) if input.cameras else None,
            only_validated=input.only_validated,
            include_images=input.include_images,
            negatives=input.negatives,
            voc_one_based=input.voc_one_based,
        )
        job = await annotation_export.export_annotations(
            info.context.runtime, info.context.require_viewer(), request
        )
        return Job.from_row(job)

    @strawberry.mutation(
        description=(
            "Import boxes from an uploaded file (multipart request). All or nothing: the first problem "
            "fails it with BAD_USER_INPUT naming the file, line (or JSON path) and reason."
        ),
        permission_classes=[IsReviewer],
    )
    async def import_annotations(self, info: Info, input: ImportAnnotationsInput) -> ImportResult:
        upload = input.file
        if not hasattr(upload, "read"):
            raise BadUserInput(
                "input.file must be an uploaded file (a multipart request)", field="input.file"
            )
        content = await upload.read()
        summary = await annotation_import.import_annotations(
            info.context.runtime,
            info.context.require_viewer(),
            annotation_import.ImportRequest(
                dataset_id=decode_id(input.dataset_id, "Dataset", "input.datasetId"),
                file_name=getattr(upload, "filename", None) or "upload",
                content=content,
                format=ExportFormatData(input.format.value) if input.format else None,
                create_missing_labels=input.create_missing_labels,
            ),
        )
        return ImportResult(
            format=summary.format,
            images=summary.images,
            boxes=summary.boxes,
            tracks=summary.tracks,
            episodes=summary.episodes,
            episode_annotations=summary.episode_annotations,
            labels_created=summary.labels_created,
        )
