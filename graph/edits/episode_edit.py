from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from graph.accounts.user import User
from graph.context import Info
from persistence.documents import StoredEdits
from persistence.tables import EpisodeEditRow


@strawberry.enum(description="Pillow's resampling filters.")
class ResizeFilter(Enum):
    NEAREST = "NEAREST"
    BILINEAR = "BILINEAR"
    BICUBIC = "BICUBIC"
    LANCZOS = "LANCZOS"
    BOX = "BOX"
    HAMMING = "HAMMING"


@strawberry.type(description="A rectangle of the image, in pixels.")
class CropRect:
    x: int = strawberry.field(description="Left edge.")
    y: int = strawberry.field(description="Top edge.")
    width: int = strawberry.field(description="Width.")
    height: int = strawberry.field(description="Height.")


@strawberry.type(description="A new size, in pixels, and the filter.")
class ResizeSpec:
    width: int = strawberry.field(description="Width.")
    height: int = strawberry.field(description="Height.")
    filter: ResizeFilter = strawberry.field(description="Resampling filter.")


@strawberry.type(
    description="What is done to one camera's frames, in this order: crop, resize, rotate, colour."
)
class CameraEdit:
    camera: str = strawberry.field(description="The camera.")
    crop: CropRect | None = strawberry.field(description="Crop, in source pixels.")
    resize: ResizeSpec | None = strawberry.field(description="Resize after the crop.")
    rotate: int = strawberry.field(description="0, 90, 180 or 270 degrees counter-clockwise.")
    brightness: float = strawberry.field(description="Brightness factor (1: unchanged).")
    contrast: float = strawberry.field(description="Contrast factor (1: unchanged).")
    saturation: float = strawberry.field(description="Saturation factor (1: unchanged).")


@strawberry.type(description="Frames cut and trimmed, and per-camera transforms.")
class EpisodeEdits:
    removed_frames: list[int] = strawberry.field(description="Frames left out.")
    removed_ranges: list[list[int]] = strawberry.field(description="Inclusive [first, last] ranges left out.")
    trim_from: int | None = strawberry.field(description="First frame kept by the trim.")
    trim_to: int | None = strawberry.field(description="Last frame kept by the trim.")
    cameras: list[CameraEdit] = strawberry.field(description="Per-camera transforms.")

    @classmethod
    def from_stored(cls, saved: StoredEdits) -> EpisodeEdits:
        trim = saved.trim
        cameras = []
        for name, c in sorted(saved.cameras.items()):
            crop, resize = c.crop, c.resize
            cameras.append(
                CameraEdit(
                    camera=name,
                    crop=CropRect(x=crop.x, y=crop.y, width=crop.width, height=crop.height) if crop else None,
                    resize=ResizeSpec(
                        width=resize.width, height=resize.height, filter=ResizeFilter(resize.filter)
                    )
                    if resize
                    else None,
                    rotate=c.rotate,
                    brightness=c.brightness,
                    contrast=c.contrast,
                    saturation=c.saturation,
                )
            )
        return cls(
            removed_frames=list(saved.removed_frames),
            removed_ranges=[list(r) for r in saved.removed_ranges],
            trim_from=trim.first if trim else None,
            trim_to=trim.last if trim else None,
            cameras=cameras,
        )


@strawberry.type(description="The edits saved on an episode, versioned.")
class SavedEpisodeEdits:
    version: int = strawberry.field(description="Rises by one with every save.")
    edits: EpisodeEdits = strawberry.field(description="The edits.")
    updated_at: datetime = strawberry.field(description="When they were saved.")
    row: strawberry.Private[EpisodeEditRow]

    @classmethod
    def from_row(cls, row: EpisodeEditRow) -> SavedEpisodeEdits:
        return cls(
            version=row.version, edits=EpisodeEdits.from_stored(row.edits), updated_at=row.updated_at, row=row
        )

    @strawberry.field(description="Who saved them.")
    async def updated_by(self, info: Info) -> User | None:
        if self.row.updated_by is None:
            return None
        row = await info.context.loaders.user.load(self.row.updated_by)
        return User.from_row(row) if row else None
