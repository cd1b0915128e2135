"""annograph JSON carries the segment vocabulary and time segments: read(write(x)) == x, bad values named."""

from __future__ import annotations

import json

import pytest

from domain.objects.transfer.formats import annograph_json
from domain.objects.transfer.formats.model import AnnotationSet, FormatError

LABELS = [
    {"name": "reach", "color": "#e6194b", "mayOverlap": False},
    {"name": "gaze", "color": "#00ff00", "mayOverlap": True},
]
SEGMENT = {
    "episodeIndex": 1,
    "annotator": "anna",
    "label": "reach",
    "fromFrame": 3,
    "toFrame": 12,
    "fromTime": 100.2,
    "toTime": 100.8,
    "instruction": "reach for the cube",
    "notes": None,
    "version": 2,
}


def written(data: AnnotationSet) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    annograph_json.write(data, files.__setitem__)
    return files


def test_round_trip_is_exact():
    data = AnnotationSet(
        segment_labels=LABELS, segments=[SEGMENT, {**SEGMENT, "label": "gaze", "notes": "n"}]
    )
    files = written(data)
    again = annograph_json.read(files, lambda name: None)
    assert again.segment_labels == data.segment_labels and again.segments == data.segments
    assert written(again) == files


def test_files_without_segments_are_unchanged():
    files = written(AnnotationSet())
    assert "segments" not in json.loads(files["annograph.json"])
    assert annograph_json.read(files, lambda name: None).segments == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"label": "place"}, "segments[0].label"),
        ({"toFrame": 1}, "segments[0].toFrame"),
        ({"fromFrame": "3"}, "segments[0].fromFrame"),
        ({"version": 0}, "segments[0].version"),
        ({"colour": "red"}, "segments[0].colour"),
    ],
)
def test_a_wrong_value_is_named(change, where):
    files = written(AnnotationSet(segment_labels=LABELS, segments=[{**SEGMENT, **change}]))
    with pytest.raises(FormatError) as refused:
        annograph_json.read(files, lambda name: None)
    assert refused.value.where == where, str(refused.value)
