from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from domain.detection.models import ModelInfo

PICKLE_RISK = (
    "A .pt checkpoint is a Python pickle: loading it (on upload, when models are listed, and to detect) "
    "runs whatever code it holds, with the server's rights. Add only checkpoints you trust."
)


@strawberry.type(description="A detection model file the server can load from its models folder.")
class DetectionModel:
    name: str = strawberry.field(
        description="The file, relative to the models folder (team/best.pt): what `model` arguments take."
    )
    architecture: str | None = strawberry.field(
        description="The Ultralytics architecture it was built from (yolo11n.yaml); null when unknown."
    )
    task: str | None = strawberry.field(
        description="The Ultralytics task (detect, segment, pose); null when it cannot be loaded."
    )
    class_names: list[str] | None = strawberry.field(
        description="Its class names by class index (what classMap maps); null when it cannot be loaded."
    )
    size_bytes: float = strawberry.field(description="The file's size in bytes (a Float: Int is 32-bit).")
    added_at: datetime = strawberry.field(description="When the file was put in the folder (its mtime).")
    problem: str | None = strawberry.field(
        description="Why the server cannot load it (not a model, Ultralytics missing); null when it can."
    )

    @classmethod
    def from_info(cls, info: ModelInfo) -> DetectionModel:
        return cls(
            name=info.name,
            architecture=info.architecture,
            task=info.task,
            class_names=list(info.class_names) if info.class_names is not None else None,
            size_bytes=float(info.size_bytes),
            added_at=datetime.fromtimestamp(info.added_at, UTC),
            problem=info.problem,
        )
