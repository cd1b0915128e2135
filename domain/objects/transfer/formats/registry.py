"""The format modules by ExportFormat, and which format an upload is in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from domain.objects.transfer.formats import annograph_json, coco, cvat_xml, mot, voc, yolo
from domain.objects.transfer.formats.model import (
    AnnotationSet,
    ExportFormat,
    Fidelity,
    FormatError,
    TransferOptions,
)


class FormatModule(Protocol):
    IMAGE_DIR: str

    def write(
        self, data: AnnotationSet, add: Callable[[str, bytes], None], options: TransferOptions = ...
    ) -> Fidelity: ...

    def read(
        self,
        files: Mapping[str, bytes],
        size_of: Callable[[str], tuple[int, int] | None],
        options: TransferOptions = ...,
    ) -> AnnotationSet: ...


FORMATS: dict[ExportFormat, FormatModule] = {
    ExportFormat.COCO: coco,
    ExportFormat.YOLO: yolo,
    ExportFormat.VOC: voc,
    ExportFormat.ANNOGRAPH: annograph_json,
    ExportFormat.CVAT: cvat_xml,
    ExportFormat.MOT: mot,
}


def writer(fmt: ExportFormat) -> FormatModule:
    return FORMATS[ExportFormat(fmt)]


def reader(fmt: ExportFormat) -> FormatModule:
    return FORMATS[ExportFormat(fmt)]


def image_dir(fmt: ExportFormat) -> str:
    """The folder of the zip the images go in, named ImageEntry.file_name."""
    return FORMATS[ExportFormat(fmt)].IMAGE_DIR


def detect_format(files: Mapping[str, bytes]) -> ExportFormat | None:
    """The format `files` (a zip's members, or one uploaded file) are in, or None.

    Looks only at names and a cheap scan of JSON files; the reader then checks the content.
    """
    if yolo.looks_like(files):  # class names and label files: Label Studio's notes.json is not COCO
        return ExportFormat.YOLO
    for fmt, find in ((ExportFormat.ANNOGRAPH, annograph_json.find), (ExportFormat.COCO, coco.find)):
        try:
            if find(files) is not None:
                return fmt
        except FormatError:  # several candidate files: it is this format; its reader says what is wrong
            return fmt
    if cvat_xml.find(files):  # an .xml whose root is <annotations> (VOC's is <annotation>)
        return ExportFormat.CVAT
    if mot.find(files):  # gt/gt.txt
        return ExportFormat.MOT
    if yolo.find_names_file(files) is not None or yolo.label_files(files):
        return ExportFormat.YOLO
    if voc.find(files):
        return ExportFormat.VOC
    return None
