"""The detection worker: Results -> detections, and detect_batch on an episode file (model resolution
and loading: test_detection_models.py).

No database. Ultralytics runs offline: shipped architectures (untrained) and models saved in tmp_path.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest

from domain.core.errors import BadUserInput
from domain.detection import (
    EMPTY_BOX,
    BatchResult,
    DetectionInputError,
    ModelSpec,
    clear_model_cache,
    detect_batch,
    inference,
    require_ultralytics,
    resolve_model,
    results_to_detections,
)
from persistence.episode_sources import SourceRef, path_ref
from tests.graph.model_setup import build_confident_checkpoint

HEIGHT, WIDTH, FRAMES = 64, 96, 6
IMGSZ = 64


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    clear_model_cache()
    yield
    clear_model_cache()


def write_episode(path: Path, cameras: tuple[str, ...] = ("front",)) -> np.ndarray:
    """An episode file with random-noise RGB frames for each camera; returns the first camera's frames."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    with h5py.File(path, "w") as f:
        f["timestamp"] = np.arange(FRAMES) / 10.0
        for camera in cameras:
            f.create_dataset(f"observation.images.{camera}", data=images, chunks=(1, HEIGHT, WIDTH, 3))
        f.attrs["task_index"] = 0
    return images


@pytest.fixture
def episode(tmp_path: Path) -> tuple[SourceRef, np.ndarray]:
    path = tmp_path / "episode_000000.hdf5"
    return path_ref(path), write_episode(path)


# --- Results -> detections -------------------------------------------------------------------------------------


def make_result(rows: list[list[float]], height: int = 100, width: int = 120):
    require_ultralytics()
    import torch
    from ultralytics.engine.results import Results

    return Results(
        orig_img=np.zeros((height, width, 3), np.uint8),
        path="x.jpg",
        names={0: "person", 1: "car"},
        boxes=torch.tensor(rows, dtype=torch.float32).reshape(-1, 6),
    )


def test_xyxy_becomes_top_left_and_size_with_the_ultralytics_name():
    detections, dropped = results_to_detections(
        make_result([[10, 20, 50, 80, 0.9, 0], [0, 5, 7.5, 9, 0.4, 1]]), None
    )
    assert dropped == {}
    assert [(d.label, d.class_name, d.x, d.y, d.width, d.height) for d in detections] == [
        ("person", "person", 10, 20, 40, 60),
        ("car", "car", 0, 5, 7.5, 4),
    ]
    assert detections[0].score == pytest.approx(0.9) and detections[1].score == pytest.approx(0.4)


def test_boxes_are_clipped_to_the_image_and_empty_ones_dropped():
    rows = [
        [-5, -10, 30, 200, 0.8, 1],  # sticks out: clipped to 0..120 × 0..100
        [110, 90, 150, 130, 0.7, 0],  # partly outside
        [130, 10, 150, 20, 0.6, 0],  # fully to the right: no area left
        [10, 10, 10, 30, 0.5, 1],  # zero width
    ]
    detections, dropped = results_to_detections(make_result(rows), None)
    assert [(d.x, d.y, d.width, d.height) for d in detections] == [(0, 0, 30, 100), (110, 90, 10, 10)]
    assert dropped == {EMPTY_BOX: 2}
    for d in detections:
        assert 0 <= d.x and d.x + d.width <= 120 and 0 <= d.y and d.y + d.height <= 100


def test_a_class_map_renames_and_drops_unknown_classes_counting_them():
    rows = [[1, 1, 5, 5, 0.9, 0], [2, 2, 6, 6, 0.8, 1], [3, 3, 7, 7, 0.7, 1], [150, 0, 160, 5, 0.6, 0]]
    detections, dropped = results_to_detections(make_result(rows), {"person": "Pedestrian"})
    assert [(d.label, d.class_name) for d in detections] == [("Pedestrian", "person")]
    assert dropped == {"car": 2, EMPTY_BOX: 1}
    detections, dropped = results_to_detections(make_result(rows), {})
    assert detections == [] and dropped == {"person": 2, "car": 2}


def test_no_boxes_and_low_scores():
    assert results_to_detections(make_result([]), None) == ([], {})
    detections, _ = results_to_detections(
        make_result([[1, 1, 5, 5, 0.2, 0], [1, 1, 5, 5, 0.6, 1]]), None, min_score=0.5
    )
    assert [d.label for d in detections] == ["car"]


# --- detect_batch ------------------------------------------------------------------------------------------------


class RecordingModel:
    """Stands in for YOLO: records what predict receives, answers with fixed boxes per image."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[np.ndarray], dict]] = []

    def predict(self, images, **options):
        import torch
        from ultralytics.engine.results import Results

        self.calls.append((images, options))
        return [
            Results(
                orig_img=image,
                path="x.jpg",
                names={0: "person", 1: "car"},
                boxes=torch.tensor([[1, 2, 11, 22, 0.9, 0], [0, 0, 4, 4, 0.8, 1], [90, 0, 200, 10, 0.7, 0]]),
            )
            for image in images
        ]


def test_detect_batch_reads_frames_as_bgr_in_one_call_and_caches_the_model(
    monkeypatch: pytest.MonkeyPatch, episode
):
    require_ultralytics()
    path, images = episode
    loads: list[ModelSpec] = []
    model = RecordingModel()

    def fake_load(spec: ModelSpec) -> RecordingModel:
        loads.append(spec)
        return model

    monkeypatch.setattr(inference, "load_model", fake_load)
    spec = ModelSpec(name="fake.pt", source="/nowhere/fake.pt", packaged=False)
    result = detect_batch(spec, path, "front", [4, 1, 2], 0.25, 0.5, {"person": "Pedestrian"}, image_size=64)

    assert len(model.calls) == 1
    received, options = model.calls[0]
    assert options == {"conf": 0.25, "iou": 0.5, "verbose": False, "imgsz": 64}
    assert len(received) == 3
    for array, frame in zip(received, [4, 1, 2], strict=True):
        assert array.dtype == np.uint8 and array.shape == (HEIGHT, WIDTH, 3) and array.flags.c_contiguous
        np.testing.assert_array_equal(array, images[frame][..., ::-1])
    assert isinstance(result, BatchResult)
    assert (result.camera, result.width, result.height) == ("front", WIDTH, HEIGHT)
    assert [f.frame for f in result.frames] == [4, 1, 2]
    for frame in result.frames:
        assert [(d.label, d.x, d.y, d.width, d.height) for d in frame.detections] == [
            ("Pedestrian", 1, 2, 10, 20),
            ("Pedestrian", 90, 0, 6, 10),
        ]
    assert result.dropped == {"car": 3}
    assert result.detections == tuple(f.detections for f in result.frames)
    assert result.inference_seconds >= 0

    again = detect_batch(spec, path, "front", [0], 0.25, 0.5, None)
    assert loads == [spec] and again.load_seconds == 0.0
    assert [d.label for d in again.frames[0].detections] == ["person", "car", "person"]
    assert "imgsz" not in model.calls[1][1]


def test_missing_camera_and_frames_out_of_range_are_named(tmp_path: Path):
    path = tmp_path / "episode.hdf5"
    write_episode(path, cameras=("front", "wrist"))
    spec = ModelSpec(name="yolo11n.yaml", source="yolo11n.yaml", packaged=True)
    with pytest.raises(DetectionInputError) as error:
        detect_batch(spec, path_ref(path), "top", [0], 0.25, 0.5, None)
    assert error.value.message == "the episode has no camera 'top' (it has: front, wrist)"
    assert error.value.field == "camera"
    for frame in (FRAMES, -1):
        with pytest.raises(DetectionInputError) as error:
            detect_batch(spec, path_ref(path), "front", [0, frame], 0.25, 0.5, None)
        assert error.value.message == f"frame {frame} is out of range: camera 'front' has 6 frames (0..5)"
        assert error.value.field == "frames"
    with pytest.raises(DetectionInputError, match="must not repeat"):
        detect_batch(spec, path_ref(path), "front", [1, 1], 0.25, 0.5, None)
    with pytest.raises(BadUserInput, match="score_threshold must be between 0 and 1"):
        detect_batch(spec, path_ref(path), "front", [1], 1.5, 0.5, None)
    assert inference._models == {}  # nothing was loaded for refused input


def test_an_untrained_shipped_architecture_runs_on_episode_frames(episode, tmp_path: Path):
    path, _ = episode
    spec = resolve_model("yolo11n.yaml", tmp_path)
    class_map = {str(i): "thing" for i in range(40)}  # untrained models are named "0".."79"
    for score_threshold in (0.001, 0.0):  # at 0.0 even an untrained network's boxes all come through
        result = detect_batch(spec, path, "front", [0, 3, 5], score_threshold, 0.7, class_map, image_size=IMGSZ)
        assert [f.frame for f in result.frames] == [0, 3, 5]
        assert_well_formed(result, score_threshold, allowed_classes={str(i) for i in range(40)}, label="thing")
        assert set(result.dropped) <= {str(i) for i in range(40, 80)} | {EMPTY_BOX}
    assert sum(len(f.detections) for f in result.frames) + sum(result.dropped.values()) > 0
    assert result.load_seconds == 0.0 and result.inference_seconds > 0


@pytest.fixture(scope="module")
def confident_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained yolo11n whose class biases make it sure of itself: 'person' on the stride-8 level,
    'car' on the stride-16 one, nothing elsewhere; saved as a checkpoint in a models folder."""
    folder = tmp_path_factory.mktemp("models")
    build_confident_checkpoint(folder / "confident.pt")
    return folder


def assert_well_formed(
    result: BatchResult, score_threshold: float, *, allowed_classes: set[str], label: str
) -> None:
    for frame in result.frames:
        for d in frame.detections:
            assert 0 <= d.x and 0 <= d.y and d.width > 0 and d.height > 0
            assert d.x + d.width <= WIDTH + 1e-6 and d.y + d.height <= HEIGHT + 1e-6
            assert score_threshold <= d.score <= 1
            assert d.class_name in allowed_classes and d.label == label


def test_a_checkpoint_from_the_models_folder_detects_and_maps_labels(confident_model: Path, episode):
    path, _ = episode
    spec = resolve_model("confident.pt", confident_model)
    result = detect_batch(spec, path, "front", [5, 0], 0.25, 0.7, {"person": "Pedestrian"}, image_size=IMGSZ)
    assert [f.frame for f in result.frames] == [5, 0]
    assert all(len(f.detections) > 0 for f in result.frames)
    assert_well_formed(result, 0.25, allowed_classes={"person"}, label="Pedestrian")
    assert result.dropped.get("car", 0) > 0
    assert set(result.dropped) <= {"car", EMPTY_BOX}


def test_detect_batch_works_in_a_spawned_worker_process(confident_model: Path, episode):
    path, _ = episode
    spec = resolve_model("confident.pt", confident_model)
    class_map = {"person": "Pedestrian", "car": "Car"}
    here = detect_batch(spec, path, "front", [1, 2], 0.25, 0.7, class_map, IMGSZ)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(detect_batch, spec, path, "front", [1, 2], 0.25, 0.7, class_map, IMGSZ).result()
        cached = pool.submit(detect_batch, spec, path, "front", [3], 0.25, 0.7, class_map, IMGSZ).result()
        refused = pool.submit(detect_batch, spec, path, "top", [0], 0.25, 0.7, class_map, IMGSZ).exception()
    assert isinstance(there, BatchResult)
    assert [f.frame for f in there.frames] == [1, 2]
    assert {d.label for f in there.frames for d in f.detections} == {"Pedestrian", "Car"}
    for mine, theirs in zip(here.frames, there.frames, strict=True):
        assert [d.label for d in mine.detections] == [d.label for d in theirs.detections]
        assert [d.x for d in mine.detections] == pytest.approx([d.x for d in theirs.detections], abs=1e-3)
    assert there.load_seconds > 0 and cached.load_seconds == 0.0  # the worker kept the model
    assert isinstance(refused, DetectionInputError) and refused.field == "camera"
