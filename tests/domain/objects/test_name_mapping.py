"""File names of other tools' exports map to episode frames (domain/objects/transfer/name_mapping.py)."""

from __future__ import annotations

import json

import pytest

from domain.objects.transfer.name_mapping import (
    FrameNumbers,
    MappingFileError,
    NameMapping,
    Target,
    clean_name,
    read_mapping_file,
    resolve,
)


def test_our_names_map_in_any_folder_and_inside_other_tools_decorations():
    names = [
        "images/episode_000001_front_000010.jpg",  # our export
        "images/1a2b3c4d-episode_000001_front_000011.jpg",  # Label Studio's upload prefix
        "train/images/episode_000001_front_000012_jpg.rf.0123456789abcdef0123456789abcdef.jpg",  # Roboflow
        "episode_000002_wrist_cam/frame_000007.jpg",  # our CVAT / MOT export: a folder per video
    ]
    result = resolve(names, NameMapping())
    assert result.unmatched == {}
    assert [result.mapped[n] for n in names] == [
        Target(1, "front", 10),
        Target(1, "front", 11),
        Target(1, "front", 12),
        Target(2, "wrist_cam", 7),
    ]


def test_clean_name_strips_only_the_decorations():
    assert clean_name("x/1a2b3c4d-frame_1.jpg") == "frame_1.jpg"
    assert clean_name("a_png.rf.0123456789abcdef0123456789abcdef.png") == "a.png"
    assert clean_name("deadbeef.jpg") == "deadbeef.jpg"  # eight hex digits without the dash stay


def test_frame_numbers_from_cvat_ffmpeg_and_bare_names_for_a_chosen_episode_and_camera():
    mapping = NameMapping(episode_index=3, camera="front")
    result = resolve(["frame_000123.jpg", "000124.png", "img/frame0125.jpg"], mapping)
    assert result.unmatched == {}
    assert {n: t.frame for n, t in result.mapped.items()} == {
        "frame_000123.jpg": 123,
        "000124.png": 124,
        "img/frame0125.jpg": 125,
    }
    assert {t.episode_index for t in result.mapped.values()} == {3}
    ffmpeg = resolve(["image-0001.png", "image-0002.png"], NameMapping(3, "front", first_frame_number=1))
    assert [t.frame for t in ffmpeg.mapped.values()] == [0, 1]


def test_camera_folders_and_sorted_order():
    names = ["side/b10.jpg", "front/000010.jpg", "side/b9.jpg", "side/b100.jpg"]
    by_name = resolve(names, NameMapping(episode_index=1, camera_folders=True))
    assert by_name.mapped["front/000010.jpg"] == Target(1, "front", 10)
    assert by_name.mapped["side/b9.jpg"] == Target(1, "side", 9)
    in_order = resolve(names, NameMapping(episode_index=1, camera_folders=True, frames=FrameNumbers.SORTED))
    # natural order: b9 < b10 < b100, per camera
    assert [in_order.mapped[n].frame for n in ("side/b9.jpg", "side/b10.jpg", "side/b100.jpg")] == [0, 1, 2]
    assert in_order.mapped["front/000010.jpg"] == Target(1, "front", 0)


def test_unplaceable_names_are_listed_with_the_reason():
    result = resolve(["frame_000001.jpg"], NameMapping())
    assert "choose the episode" in result.unmatched["frame_000001.jpg"]
    result = resolve(["cover.jpg"], NameMapping(episode_index=0, camera="front"))
    assert "no frame number" in result.unmatched["cover.jpg"]
    result = resolve(["000001.jpg"], NameMapping(episode_index=0))
    assert "no camera" in result.unmatched["000001.jpg"]


def test_a_mapping_file_wins_in_csv_and_json():
    csv_table = read_mapping_file(
        "map.csv", b"file_name,episode_index,camera,frame\nshot_a.jpg,2,front,5\nshot_b.jpg,2,side,6\n"
    )
    json_table = read_mapping_file(
        "map.json",
        json.dumps({"shot_a.jpg": {"episode_index": 2, "camera": "front", "frame": 5}}).encode(),
    )
    assert csv_table["shot_a.jpg"] == json_table["shot_a.jpg"] == Target(2, "front", 5)
    result = resolve(["upload/shot_a.jpg", "shot_b.jpg"], NameMapping(table=csv_table))
    assert result.mapped == {"upload/shot_a.jpg": Target(2, "front", 5), "shot_b.jpg": Target(2, "side", 6)}


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"name,episode_index,camera,frame\na.jpg,1,front,2\n", "line 1: the header lacks file_name"),
        (b"file_name,episode_index,camera,frame\na.jpg,one,front,2\n", "line 2"),
        (b"file_name,episode_index,camera,frame\na.jpg,1,front,2\na.jpg,1,front,3\n", "mapped twice"),
        (b"file_name,episode_index,camera,frame\n", "maps no file"),
        (b'[{"file_name": "a.jpg", "camera": "front", "frame": 1}]', "[0]"),
    ],
)
def test_a_bad_mapping_file_names_the_line(content, where):
    with pytest.raises(MappingFileError, match=None) as caught:
        read_mapping_file("map.csv" if not content.startswith(b"[") else "map.json", content)
    assert where in str(caught.value)
