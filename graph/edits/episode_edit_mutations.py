from __future__ import annotations

import strawberry
from strawberry import relay

from domain.edits import service as episode_edits
from graph.conflicts import showing_current
from graph.context import Info
from graph.edits.episode_edit import ResizeFilter, SavedEpisodeEdits
from graph.ids import decode_id
from graph.permissions import IsAnnotator


@strawberry.input(description="A rectangle of the image, in pixels.")
class CropInput:
    x: int = strawberry.field(description="Left edge.")
    y: int = strawberry.field(description="Top edge.")
    width: int = strawberry.field(description="Width.")
    height: int = strawberry.field(description="Height.")


@strawberry.input(description="A new size and its filter.")
class ResizeInput:
    width: int = strawberry.field(description="Width, pixels.")
    height: int = strawberry.field(description="Height, pixels.")
    filter: ResizeFilter = strawberry.field(default=ResizeFilter.BILINEAR, description="Resampling filter.")


@strawberry.input(description="Transforms of one camera: crop, then resize, then rotate, then colour.")
class CameraEditInput:
    camera: str = strawberry.field(description="The camera.")
    crop: CropInput | None = strawberry.field(default=None, description="Crop, in source pixels.")
    resize: ResizeInput | None = strawberry.field(default=None, description="Resize after the crop.")
    rotate: int = strawberry.field(default=0, description="0, 90, 180 or 270 degrees counter-clockwise.")
    brightness: float = strawberry.field(default=1.0, description="Factor, (0, 10].")
    contrast: float = strawberry.field(default=1.0, description="Factor, (0, 10].")
    saturation: float = strawberry.field(default=1.0, description="Factor, (0, 10].")


@strawberry.input(description="Training edits of one episode.")
class EpisodeEditsInput:
    removed_frames: list[int] = strawberry.field(default_factory=list, description="Frames to leave out.")
    removed_ranges: list[list[int]] = strawberry.field(
        default_factory=list, description="Inclusive [first, last] ranges to leave out."
    )
    trim_from: int | None = strawberry.field(
        default=None, description="First frame to keep (default 0 when only trimTo is given)."
    )
    trim_to: int | None = strawberry.field(
        default=None, description="Last frame to keep (default the last frame when only trimFrom is given)."
    )
    cameras: list[CameraEditInput] = strawberry.field(
        default_factory=list, description="Per-camera transforms."
    )

    def to_json(self) -> dict:
        """The JSON form the domain checks (and stores)."""
        data: dict = {
            "removedFrames": self.removed_frames,
            "removedRanges": self.removed_ranges,
            "cameras": {},
        }
        if self.trim_from is not None or self.trim_to is not None:
            data["trim"] = {"from": self.trim_from, "to": self.trim_to}
        for c in self.cameras:
            data["cameras"][c.camera] = {
                "crop": vars(c.crop) if c.crop else None,
                "resize": {
                    "width": c.resize.width,
                    "height": c.resize.height,
                    "filter": c.resize.filter.value,
                }
                if c.resize
                else None,
                "rotate": c.rotate,
                "brightness": c.brightness,
                "contrast": c.contrast,
                "saturation": c.saturation,
            }
        return data


@strawberry.input(description="Edits to save on an episode.")
class SaveEpisodeEditsInput:
    episode_id: relay.GlobalID = strawberry.field(description="The episode.")
    edits: EpisodeEditsInput = strawberry.field(description="The edits.")
    expected_version: int | None = strawberry.field(
        default=None, description="The version these edits replace; leave out for the first save."
    )


@strawberry.type
class EpisodeEditMutations:
    @strawberry.mutation(
        description="Save training edits on an episode (annotators); CONFLICT unless the version is current.",
        permission_classes=[IsAnnotator],
    )
    async def save_episode_edits(self, info: Info, input: SaveEpisodeEditsInput) -> SavedEpisodeEdits:
        episode_id = decode_id(input.episode_id, "Episode", "input.episodeId")
        async with showing_current(
            info, relay.GlobalID("Episode", str(episode_id)), "SavedEpisodeEdits", ("edits",)
        ):
            row = await episode_edits.save_episode_edits(
                info.context.runtime,
                info.context.require_viewer(),
                episode_id,
                input.edits.to_json(),
                input.expected_version,
            )
        return SavedEpisodeEdits.from_row(row)
