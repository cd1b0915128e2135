"""QUALITY_REPORT's camera checks on a video episode: decoded frames of a generated MP4 (PyAV writes it)
with a dark, a frozen and a blurred segment and dropped frame times are flagged at the right frames."""

from __future__ import annotations

import pytest

from domain.analysis.episode_work import analyse_episode
from domain.analysis.kinds import AnalysisKind, validate_parameters
from domain.analysis.quality_checks import EpisodeQuality, QualityParams, summarise
from domain.core.errors import BadUserInput
from persistence.episode_sources import SourceRef
from tests.quality_video import FPS, write_defective_video

DARK, FROZEN, BLURRED = range(10, 18), range(30, 45), range(55, 63)
LATE = {75: 3}  # frame 75 comes 3 frame periods late: 3 frames were never recorded


def test_video_frames_are_checked_for_dark_frozen_blurred_and_dropped_frames(tmp_path):
    write_defective_video(tmp_path / "run.mp4", 90, dark=DARK, frozen=FROZEN, blurred=BLURRED, late=LATE)
    source = SourceRef("VIDEO", str(tmp_path / "run.mp4"), "")
    result = analyse_episode(source, "QUALITY_REPORT", QualityParams().model_dump(), FPS)
    q = result["quality"]
    assert result["length"] == 90 and q["frame_counts"] == {"timestamp": 90, "camera:video": 90}
    assert q["dark_ranges"] == {"video": [[10, 17]]} and q["dark_frames"] == {"video": 8}
    # Frames 30..44 repeat frame 29.
    assert q["frozen_ranges"] == {"video": [[30, 44]]} and q["frozen_frames"] == {"video": 15}
    assert q["blurred_ranges"] == {"video": [[55, 62]]} and q["blurred_frames"] == {"video": 8}
    assert q["gap_frames"] == [75] and q["gaps"] == 1 and q["dropped_frames"] == 3
    assert q["non_increasing"] == 0 and not q["count_mismatch"]
    report = summarise([(0, EpisodeQuality(**q), 90)])
    assert report.affected == {
        "gaps": [0],
        "dark_frames": [0],
        "frozen_camera": [0],
        "blurred_frames": [0],
    }


def test_a_clean_video_has_nothing_to_report(tmp_path):
    write_defective_video(tmp_path / "clean.mp4", 60)
    q = analyse_episode(SourceRef("VIDEO", str(tmp_path / "clean.mp4"), ""), "QUALITY_REPORT", {}, FPS)[
        "quality"
    ]
    assert q["dark_frames"] == q["frozen_frames"] == q["blurred_frames"] == {}
    assert q["gap_frames"] == [] and q["gaps"] == 0 and q["dropped_frames"] == 0


def test_the_blur_ratio_is_a_checked_parameter():
    with pytest.raises(BadUserInput) as caught:
        validate_parameters(AnalysisKind.QUALITY_REPORT, {"blur_ratio": 1.5})
    assert caught.value.field is not None and "blur_ratio" in caught.value.field
