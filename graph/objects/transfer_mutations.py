from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from domain.core.errors import BadUserInput, LimitExceeded
from domain.objects.transfer import exports as annotation_export
from domain.objects.transfer import imports as annotation_import
from domain.objects.transfer.formats.model import ExportFormat as ExportFormatData
from domain.objects.transfer.imports import ImportMode as ImportModeData
from domain.objects.transfer.name_mapping import FrameNumbers as FrameNumbersData
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


ImportMode = ImportModeData
strawberry.enum(
    ImportMode,
    name="ImportMode",
    description=(
        "What an import does beside the boxes already stored. APPEND: add every box. MERGE: skip a box "
        "equal to a stored one (same episode, camera, frame, label and geometry to 1/1000 pixel), so "
        "importing a file twice adds its boxes once. REPLACE: first delete the stored boxes of every video "
        "(episode and camera) the file has boxes on."
    ),
)
FrameNumbers = FrameNumbersData
strawberry.enum(
    FrameNumbers,
    name="FrameNumbers",
    description=(
        "How a chosen episode's frames are read off file names. FROM_NAME: the last number in the name "
        "(frame_000123.jpg as CVAT writes video frames, 000123.png, FFmpeg's image-0001.png) minus "
        "firstFrameNumber. SORTED: the place among the camera's names in natural sort order (0, 1, ...)."
    ),
)


@strawberry.input(
    description=(
        "How an import's file names map to episode frames. Our own names (episode_<index>_<camera>_"
        "<frame>.jpg, also under Label Studio's upload prefix and Roboflow's renamed files, and folders "
        "named episode_<index>_<camera> as our CVAT and MOT exports write) always map; the rest map to "
        "the chosen episode and camera, or through a mapping file."
    )
)
class NameMappingInput:
    episode_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The episode for names that carry only a frame number."
    )
    camera: str | None = strawberry.field(default=None, description="Its camera.")
    camera_folders: bool = strawberry.field(
        default=False,
        description="Instead of one camera: each image's folder names its camera (front/0001.jpg).",
    )
    frames: FrameNumbers = strawberry.field(
        default=FrameNumbers.FROM_NAME, description="How frame numbers are read off names."
    )
    first_frame_number: int = strawberry.field(
        default=0, description="The number in the name of frame 0 (FFmpeg's image2 starts at 1, CVAT at 0)."
    )
    mapping_file: Upload | None = strawberry.field(
        default=None,
        description=(
            "A CSV (header file_name,episode_index,camera,frame) or JSON list of such objects; its "
            "names win over every other rule."
        ),
    )


@strawberry.input(description="A file of annotations to add to a dataset (all or nothing).")
class ImportAnnotationsInput:
    dataset_id: relay.GlobalID = strawberry.field(description="The dataset.")
    file: Upload = strawberry.field(
        description=(
            "A COCO / annograph JSON, CVAT XML or MOT gt.txt file, or a zip of any of the formats (with or "
            "without its images: they are listed by name, never read; ANNOGRAPH_MAX_ARCHIVE_BYTES bounds "
            "the zip, ANNOGRAPH_MAX_UNPACKED_BYTES its annotation files)."
        )
    )
    format: AnnotationFormat | None = strawberry.field(default=None, description="Default: detected.")
    create_missing_labels: bool = strawberry.field(
        default=False, description="Add class names the label set lacks instead of failing."
    )
    name_mapping: NameMappingInput | None = strawberry.field(
        default=None, description="How file names map to frames; default: our own names only."
    )
    mode: ImportMode = strawberry.field(default=ImportMode.APPEND, description="Beside the stored boxes.")
    dry_run: bool = strawberry.field(
        default=False,
        description=(
            "Check everything and answer what would be imported, listing every unmatched name; write nothing."
        ),
    )
    voc_one_based: bool = strawberry.field(
        default=False,
        description=(
            "Read Pascal VOC corners as the 1-based devkit (x = xmin - 1); default as CVAT and datumaro."
        ),
    )


@strawberry.type(description="A file name an import could not place on a frame.")
class UnmatchedName:
    name: str = strawberry.field(description="The name as the file has it.")
    reason: str = strawberry.field(description="Why it maps to no frame.")


@strawberry.type(description="What a file held that boxes cannot carry, and how much of it.")
class DroppedCount:
    kind: str = strawberry.field(
        description="rotation, polygons, masks, keypoints, custom attributes, z_order, groups, ..."
    )
    count: int = strawberry.field(description="How many boxes or items had it.")


@strawberry.type(description="What an import added (or, in a dry run, would add).")
class ImportResult:
    format: AnnotationFormat = strawberry.field(description="The format read.")
    images: int = strawberry.field(description="Images (file names) mapped to episode frames.")
    boxes: int = strawberry.field(description="Boxes added (in a dry run: that would be).")
    tracks: int = strawberry.field(description="Tracks the boxes belong to.")
    episodes: int = strawberry.field(description="Episodes that received boxes.")
    episode_annotations: int = strawberry.field(description="Episode annotations added (annograph JSON).")
    segments: int = strawberry.field(description="Time segments added (annograph JSON).")
    segment_labels_created: list[str] = strawberry.field(
        description="Segment labels the import added to the dataset's segment vocabulary (annograph JSON)."
    )
    labels_created: list[str] = strawberry.field(
        description="Labels added to the label set (in a dry run: the names the label set lacks)."
    )
    dry_run: bool = strawberry.field(description="Nothing was written.")
    skipped: int = strawberry.field(description="MERGE: boxes equal to stored ones, not added again.")
    replaced: int = strawberry.field(description="REPLACE: stored boxes deleted first.")
    unmatched: list[UnmatchedName] = strawberry.field(
        description=(
            "Names that map to no frame: in a dry run every one; otherwise images without boxes (an image "
            "with boxes that maps nowhere fails the import)."
        )
    )
    dropped: list[DroppedCount] = strawberry.field(
        description="The import's fidelity report: what the file had that boxes cannot carry, per kind."
    )
    splits: list[str] = strawberry.field(
        description="The subsets the file placed boxes in (train, valid, ...)."
    )


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
            raise BadUserInput("must be an uploaded file (a multipart request)", field="file")
        mapping = input.name_mapping or NameMappingInput()
        mapping_file = None
        if mapping.mapping_file is not None:
            if not hasattr(mapping.mapping_file, "read"):
                raise BadUserInput("must be an uploaded file", field="name_mapping.mapping_file")
            name = getattr(mapping.mapping_file, "filename", None) or "mapping"
            mapping_file = (name, await _bounded(mapping.mapping_file, info, "name_mapping.mapping_file"))
        summary = await annotation_import.import_annotations(
            info.context.runtime,
            info.context.require_viewer(),
            annotation_import.ImportRequest(
                dataset_id=decode_id(input.dataset_id, "Dataset", "input.datasetId"),
                file_name=getattr(upload, "filename", None) or "upload",
                # The spooled upload itself: a zip with its frames is read from disk, member by member.
                content=getattr(upload, "file", None) or await upload.read(),
                format=ExportFormatData(input.format.value) if input.format else None,
                create_missing_labels=input.create_missing_labels,
                mode=ImportModeData(input.mode.value),
                dry_run=input.dry_run,
                episode_id=decode_id(mapping.episode_id, "Episode", "input.nameMapping.episodeId"),
                camera=mapping.camera,
                camera_folders=mapping.camera_folders,
                frames=FrameNumbersData(mapping.frames.value),
                first_frame_number=mapping.first_frame_number,
                mapping_file=mapping_file,
                voc_one_based=input.voc_one_based,
            ),
        )
        return ImportResult(
            format=summary.format,
            images=summary.images,
            boxes=summary.boxes,
            tracks=summary.tracks,
            episodes=summary.episodes,
            episode_annotations=summary.episode_annotations,
            segments=summary.segments,
            segment_labels_created=summary.segment_labels_created,
            labels_created=summary.labels_created,
            dry_run=summary.dry_run,
            skipped=summary.skipped,
            replaced=summary.replaced,
            unmatched=[UnmatchedName(name=n, reason=r) for n, r in summary.unmatched.items()],
            dropped=[DroppedCount(kind=k, count=c) for k, c in sorted(summary.dropped.items())],
            splits=summary.splits,
        )


async def _bounded(upload, info: Info, field: str) -> bytes:
    """A small uploaded file's bytes, at most ANNOGRAPH_MAX_UNPACKED_BYTES."""
    limit = info.context.runtime.settings.max_unpacked_bytes
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise LimitExceeded(f"the file is larger than {limit} bytes", field=field, limit="unpackedSize")
    return content
