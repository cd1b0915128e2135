"""The robot set's workspace scene: true boxes from the painted pixels, the object carried by the
gripper and left at its goal, the arm drawn where the recorded kinematics put it, determinism."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from domain.datasets.demo import DemoSpec, generate_episode, write_demo_dataset
from domain.datasets.demo.spec import TASKS

SPEC = DemoSpec(episodes=6, min_length=90, max_length=130, width=96, height=72, seed=7)
OBJECTS = {"cube", "cylinder", "mug"}


@pytest.fixture(scope="module")
def episodes():
    return [generate_episode(SPEC, i) for i in range(SPEC.episodes)]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workspace")
    write_demo_dataset(folder, SPEC)
    return folder


def residue_of(box: dict) -> tuple[int, int]:
    """(modulus, red residue) of the box's painter (workspace.py's rule)."""
    if box["label"] == "gripper":
        return 8, 6
    return 8, 2 * (int(box["track_id"].rsplit("_", 1)[1]) - 1) + 1


def test_task_objects_goals_and_labels(episodes, written):
    info = json.loads((written / "info.json").read_text())
    assert (info["name"], info["scene"]) == ("demo-pick-and-place", "workspace")
    for ep in episodes:
        held = ep.scene.things[0]
        assert held.track_id.endswith("_0001")
        assert held.label == ("cube", "cylinder", "mug")[ep.task_index]
        assert held.label in TASKS[ep.task_index]
        assert 3 <= len(ep.scene.things) <= 4  # the task's object and two or three distractors
        doc = json.loads((written / "ground_truth" / f"episode_{ep.index:06d}.json").read_text())
        assert doc["labels"] == ["cube", "cylinder", "mug", "gripper"]


def test_boxes_are_the_bounds_of_the_painted_pixels(written):
    exact = total = occluded = 0  # total: boxes not occluded; exact: those whose own pixels' bounds they are
    for index in (0, 1, 2, 5):
        doc = json.loads((written / "ground_truth" / f"episode_{index:06d}.json").read_text())
        with h5py.File(written / "episodes" / f"episode_{index:06d}.hdf5", "r") as f:
            for camera, boxes in doc["cameras"].items():
                red = f[f"observation.images.{camera}"][:, :, :, 0]
                by_frame: dict[int, list[dict]] = {}
                for b in boxes:
                    by_frame.setdefault(b["frame"], []).append(b)
                for frame, group in by_frame.items():
                    assert {b["label"] for b in group} >= {"gripper"} | {"cube", "cylinder", "mug"} & {
                        b["label"] for b in group
                    }
                    assert len({b["track_id"] for b in group}) == len(group)
                    for b in group:
                        x, y, w, h = (int(b[k]) for k in ("x", "y", "width", "height"))
                        modulus, residue = residue_of(b)
                        mine = red[frame] % modulus == residue
                        assert mine.any() or b["occluded"], b
                        inside = np.zeros_like(mine)
                        inside[y : y + h, x : x + w] = True
                        assert not np.any(mine & ~inside), f"{b['track_id']} painted outside its box"
                        # every edge holds its pixel or a nearer painter's (never bare background),
                        # unless the image border cut the box there
                        drawn = red[frame, y : y + h, x : x + w] % 4 != 0
                        cut = (x == 0, y == 0, x + w == SPEC.width, y + h == SPEC.height)
                        edges = (drawn[:, 0], drawn[0], drawn[:, -1], drawn[-1])
                        assert all(e.any() or (b["truncated"] and c) for e, c in zip(edges, cut, strict=True))
                        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
                        occluded += b["occluded"]
                        total += not b["occluded"]
                        bounds = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1) if rows.size else None
                        exact += not b["occluded"] and bounds == (x, y, x + w, y + h)
    # an unoccluded box may still have up to 30 % of its pixels covered, an edge among them
    assert total > 500 and exact > 0.9 * total and occluded > 0, (exact, total, occluded)


def test_the_object_moves_with_the_gripper_and_rests_at_its_goal(episodes):
    for ep in episodes:
        ws, track = ep.scene, ep.scene.things[0].track_id
        first, end = ws.grasped
        grip = ep.arrays["observation.gripper"]
        assert 0 < first < end < ep.length and grip[first - 1] < grip[first]
        tip = ws.keypoints[:, 8]
        centres = ws.things[0].centres
        assert np.array_equal(centres[first:end], tip[first:end])  # held: at the tool centre point
        assert np.all(centres[:first] == tip[first]) and np.all(centres[end:] == tip[end - 1])
        assert np.linalg.norm(centres[-1] - centres[0]) > 0.05  # picked up here, left over there
        boxes = {(b["frame"], b["track_id"]): b for b in ep.boxes("front")}

        def centre(frame: int, track_id: str, boxes: dict = boxes) -> np.ndarray:
            b = boxes[(frame, track_id)]
            return np.array([b["x"] + b["width"] / 2, b["y"] + b["height"] / 2])

        held = [k for k in range(first, end) if (k, track) in boxes and (k, "GRIPPER_0001") in boxes]
        gaps = [np.linalg.norm(centre(k, track) - centre(k, "GRIPPER_0001")) for k in held]
        travel = np.linalg.norm(centre(held[-1], track) - centre(held[0], track))
        assert max(gaps) < 0.12 * SPEC.width and travel > max(gaps), (ep.index, max(gaps), travel)
        rest = [boxes[(k, track)] for k in range(end, ep.length)]
        assert len({(b["x"], b["y"], b["width"], b["height"]) for b in rest}) == 1  # placed: still
        assert (rest[0]["x"], rest[0]["y"]) != (boxes[(0, track)]["x"], boxes[(0, track)]["y"])


def test_the_arm_is_drawn_at_the_recorded_end_effector(episodes):
    for ep in episodes[:3]:
        pose = ep.arrays["observation.ee_pose"][:, :3].astype(np.float64)
        for camera in ep.cameras:
            cam = ep.scene.cameras[camera]
            uv = cam.project(pose)[:, :2]
            for k, image in enumerate(ep.frames(camera)):
                if not np.all(np.isfinite(pose[k])):
                    continue
                u, v = int(uv[k, 0]), int(uv[k, 1])
                window = image[max(v - 4, 0) : v + 5, max(u - 4, 0) : u + 5, 0] % 8
                arm_or_gripper = np.isin(window, (2, 6))
                held_object = window % 2 == 1  # the grasped object may cover the tool centre point
                assert (arm_or_gripper | held_object).any(), (ep.index, camera, k)


def test_the_fingers_follow_the_gripper_reading(episodes):
    for ep in episodes:
        opening, grip = ep.scene.opening, ep.arrays["observation.gripper"].astype(np.float64)
        assert np.corrcoef(opening, grip)[0, 1] < -0.999
        assert opening.max() - opening.min() > 0.02  # metres: visibly open and closed


def test_the_workspace_is_deterministic_by_seed(episodes):
    again = generate_episode(SPEC, 4)
    assert all(
        np.array_equal(a, b) for a, b in zip(episodes[4].frames("side"), again.frames("side"), strict=True)
    )
    assert episodes[4].boxes("front") == again.boxes("front")
    other = generate_episode(DemoSpec(**{**SPEC.__dict__, "seed": 8}), 4)
    first = next(iter(other.frames("front")))
    assert not np.array_equal(first, next(iter(episodes[4].frames("front"))))


def test_other_camera_names_get_a_stable_view():
    spec = DemoSpec(episodes=1, min_length=40, max_length=40, width=48, height=36, cameras=("wrist", "top"))
    a, b = generate_episode(spec, 0), generate_episode(spec, 0)
    for camera in ("wrist", "top"):
        frames = list(a.frames(camera))
        assert all(np.array_equal(x, y) for x, y in zip(frames, b.frames(camera), strict=True))
        assert any(np.any(f[:, :, 0] % 8 == 2) for f in frames)  # the arm is in view
    assert not np.array_equal(a.scene.backgrounds["wrist"], a.scene.backgrounds["top"])
