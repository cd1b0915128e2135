"""Episode edits: the JSON form, validation with exact field paths, and which frames are kept."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from domain.core.errors import BadUserInput
from domain.edits import (
    CameraEdit,
    Crop,
    EpisodeEdits,
    EpisodeShape,
    Resize,
    ResizeFilter,
    kept_frames,
    renumber,
    validate_edits,
)

SHAPE = EpisodeShape(length=50, cameras={"front": (240, 320), "wrist": (48, 64)})

FULL = EpisodeEdits(
    removed_frames=(3, 7),
    removed_ranges=((10, 19),),
    trim=(2, 45),
    cameras={
        "front": CameraEdit(
            crop=Crop(10, 20, 200, 100),
            resize=Resize(64, 32, ResizeFilter.LANCZOS),
            brightness=1.2,
            contrast=0.8,
            saturation=0.5,
            rotate=270,
        ),
        "wrist": CameraEdit(rotate=90),
    },
)


def error(edits: EpisodeEdits, shape: EpisodeShape = SHAPE, field: str = "edits") -> BadUserInput:
    with pytest.raises(BadUserInput) as caught:
        validate_edits(edits, shape, field)
    assert caught.value.code == "BAD_USER_INPUT"
    return caught.value


def test_to_json_writes_every_key_in_camel_case() -> None:
    assert FULL.to_json() == {
        "removedFrames": [3, 7],
        "removedRanges": [[10, 19]],
        "trim": {"from": 2, "to": 45},
        "cameras": {
            "front": {
                "crop": {"x": 10, "y": 20, "width": 200, "height": 100},
                "resize": {"width": 64, "height": 32, "filter": "LANCZOS"},
                "brightness": 1.2,
                "contrast": 0.8,
                "saturation": 0.5,
                "rotate": 270,
            },
            "wrist": {
                "crop": None,
                "resize": None,
                "brightness": 1.0,
                "contrast": 1.0,
                "saturation": 1.0,
                "rotate": 90,
            },
        },
    }
    assert EpisodeEdits().to_json() == {"removedFrames": [], "removedRanges": [], "trim": None, "cameras": {}}


def test_json_round_trips_through_text() -> None:
    assert EpisodeEdits.from_json(json.loads(json.dumps(FULL.to_json()))) == FULL
    assert EpisodeEdits.from_json({}) == EpisodeEdits()


def test_from_json_accepts_a_subset_and_trim_as_a_list() -> None:
    edits = EpisodeEdits.from_json(
        {"trim": [4, 9], "cameras": {"front": {"resize": {"width": 10, "height": 8}, "brightness": 2}}}
    )
    assert edits.trim == (4, 9)
    assert edits.cameras["front"] == CameraEdit(resize=Resize(10, 8, ResizeFilter.BILINEAR), brightness=2.0)
    assert isinstance(edits.cameras["front"].brightness, float)


def test_a_trim_may_leave_out_either_end() -> None:
    only_to = validate_edits(EpisodeEdits.from_json({"trim": {"to": 9}}), SHAPE)
    only_from = validate_edits(EpisodeEdits.from_json({"trim": {"from": 40}}), SHAPE)
    assert only_to.trim == (0, 9) and kept_frames(only_to, 50).tolist() == list(range(10))
    assert only_from.trim == (40, 49) and only_from.to_json()["trim"] == {"from": 40, "to": 49}
    with pytest.raises(BadUserInput) as neither:
        EpisodeEdits.from_json({"trim": {}})
    assert neither.value.field == "edits.trim"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "edits"),
        ({"removedFrame": [1]}, "edits.removedFrame"),
        ({"removedFrames": 3}, "edits.removedFrames"),
        ({"removedFrames": [1, "2"]}, "edits.removedFrames[1]"),
        ({"removedFrames": [True]}, "edits.removedFrames[0]"),
        ({"removedRanges": [[1, 2], [3]]}, "edits.removedRanges[1]"),
        ({"trim": {"from": 1, "until": 3}}, "edits.trim.until"),
        ({"trim": [1, 2.5]}, "edits.trim"),
        ({"cameras": []}, "edits.cameras"),
        (
            {"cameras": {"front": {"crop": {"x": 0, "y": 0, "width": 1.5, "height": 2}}}},
            "edits.cameras.front.crop.width",
        ),
        (
            {"cameras": {"front": {"resize": {"width": 8, "height": 8, "filter": "CUBIC"}}}},
            "edits.cameras.front.resize.filter",
        ),
        ({"cameras": {"front": {"brightness": "high"}}}, "edits.cameras.front.brightness"),
        ({"cameras": {"front": {"gamma": 2}}}, "edits.cameras.front.gamma"),
    ],
)
def test_from_json_names_the_malformed_path(data: object, field: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        EpisodeEdits.from_json(data)
    assert caught.value.field == field


def test_valid_edits_come_back_normalised() -> None:
    edits = EpisodeEdits(
        removed_frames=(9, 3, 9),
        removed_ranges=((30, 31), (10, 12), (30, 31)),
        cameras={"front": CameraEdit(resize=Resize(8, 8, "NEAREST"), brightness=2)},  # type: ignore[arg-type]
    )
    valid = validate_edits(edits, SHAPE)
    assert valid.removed_frames == (3, 9)
    assert valid.removed_ranges == ((10, 12), (30, 31))
    assert valid.cameras["front"].resize == Resize(8, 8, ResizeFilter.NEAREST)
    assert isinstance(valid.cameras["front"].resize.filter, ResizeFilter)
    assert validate_edits(FULL, SHAPE) == FULL


def test_crop_outside_the_image_names_crop_and_the_sizes() -> None:
    shape = EpisodeShape(10, {"front": (240, 320)})
    err = error(EpisodeEdits(cameras={"front": CameraEdit(crop=Crop(10, 10, 400, 300))}), shape)
    assert err.field == "edits.cameras.front.crop"
    assert err.message == "crop 10,10 400x300 leaves the 320 x 240 image"
    # The last pixel is inside; one more is not.
    validate_edits(EpisodeEdits(cameras={"front": CameraEdit(crop=Crop(20, 40, 300, 200))}), shape)
    assert error(EpisodeEdits(cameras={"front": CameraEdit(crop=Crop(21, 40, 300, 200))}), shape).field == (
        "edits.cameras.front.crop"
    )
    assert error(EpisodeEdits(cameras={"front": CameraEdit(crop=Crop(-1, 0, 10, 10))}), shape).field == (
        "edits.cameras.front.crop"
    )
    assert error(EpisodeEdits(cameras={"front": CameraEdit(crop=Crop(0, 0, 0, 10))}), shape).field == (
        "edits.cameras.front.crop"
    )


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        (EpisodeEdits(removed_frames=(0, 1, 2, 50)), "edits.removedFrames[3]"),
        (EpisodeEdits(removed_frames=(-1,)), "edits.removedFrames[0]"),
        (EpisodeEdits(removed_ranges=((0, 1), (9, 8))), "edits.removedRanges[1]"),
        (EpisodeEdits(removed_ranges=((40, 50),)), "edits.removedRanges[0]"),
        (EpisodeEdits(trim=(5, 50)), "edits.trim"),
        (EpisodeEdits(trim=(6, 5)), "edits.trim"),
        (EpisodeEdits(cameras={"side": CameraEdit()}), "edits.cameras.side"),
        (
            EpisodeEdits(cameras={"front": CameraEdit(resize=Resize(0, 10))}),
            "edits.cameras.front.resize.width",
        ),
        (
            EpisodeEdits(cameras={"front": CameraEdit(resize=Resize(8193, 10))}),
            "edits.cameras.front.resize.width",
        ),
        (
            EpisodeEdits(cameras={"front": CameraEdit(resize=Resize(10, 9000))}),
            "edits.cameras.front.resize.height",
        ),
        (
            EpisodeEdits(cameras={"front": CameraEdit(resize=Resize(10, 10, "SINC"))}),
            "edits.cameras.front.resize.filter",
        ),  # type: ignore[arg-type]
        (EpisodeEdits(cameras={"front": CameraEdit(brightness=0.0)}), "edits.cameras.front.brightness"),
        (EpisodeEdits(cameras={"front": CameraEdit(brightness=10.5)}), "edits.cameras.front.brightness"),
        (EpisodeEdits(cameras={"front": CameraEdit(contrast=-1.0)}), "edits.cameras.front.contrast"),
        (EpisodeEdits(cameras={"front": CameraEdit(saturation=math.nan)}), "edits.cameras.front.saturation"),
        (EpisodeEdits(cameras={"front": CameraEdit(rotate=45)}), "edits.cameras.front.rotate"),
        (EpisodeEdits(cameras={"front": CameraEdit(rotate=-90)}), "edits.cameras.front.rotate"),
    ],
)
def test_invalid_edits_name_the_exact_field(edits: EpisodeEdits, field: str) -> None:
    assert error(edits).field == field


def test_the_field_prefix_is_the_callers() -> None:
    err = error(EpisodeEdits(removed_frames=(60,)), field="input.episodes[2].edits")
    assert err.field == "input.episodes[2].edits.removedFrames[0]"
    assert "60" in err.message


def test_limits_are_inclusive() -> None:
    edit = CameraEdit(resize=Resize(8192, 1), brightness=10.0, contrast=0.01, rotate=180)
    validate_edits(EpisodeEdits(trim=(0, 49), cameras={"front": edit}), SHAPE)


def test_edits_that_leave_no_frame_are_refused() -> None:
    assert error(EpisodeEdits(removed_ranges=((0, 49),))).field == "edits"
    err = error(EpisodeEdits(trim=(5, 6), removed_frames=(5,), removed_ranges=((6, 6),)))
    assert err.field == "edits" and "all" in err.message
    validate_edits(EpisodeEdits(trim=(5, 6), removed_frames=(5,)), SHAPE)


def test_kept_frames_after_trim_and_removals() -> None:
    kept = kept_frames(
        EpisodeEdits(removed_frames=(3, 7), removed_ranges=((10, 19), (15, 22)), trim=(2, 25)), 50
    )
    assert kept.tolist() == [2, 4, 5, 6, 8, 9, 23, 24, 25]
    assert kept.dtype == np.int64
    assert kept_frames(EpisodeEdits(), 4).tolist() == [0, 1, 2, 3]
    assert kept_frames(EpisodeEdits(trim=(3, 3)), 4).tolist() == [3]


def test_renumber_maps_source_frames_to_new_ones() -> None:
    kept = kept_frames(EpisodeEdits(removed_frames=(1,), removed_ranges=((3, 4),)), 7)
    mapping = renumber(kept, 7)
    assert mapping.tolist() == [0, -1, 1, -1, -1, 2, 3]
    assert (mapping[kept] == np.arange(len(kept))).all()
