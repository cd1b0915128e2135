"""Check an export written by `domain.edits.lerobot_writer` with LeRobot's own reader, `LeRobotDataset`.

LeRobot cannot live in the project's venv (it pins torch, torchvision, datasets...), so it runs in a
venv of its own, offline, on the dataset this script writes:

    python -m venv /tmp/lerobot-venv
    /tmp/lerobot-venv/bin/pip install --no-deps lerobot==0.4.4
    /tmp/lerobot-venv/bin/pip install 'torch==2.10.*' 'torchvision==0.25.*' 'datasets>=4,<5' \
        'huggingface-hub<0.36' 'av>=15,<16' 'accelerate>=1.10,<2' pandas pillow jsonlines packaging \
        draccus==0.10.0 einops termcolor deepdiff fsspec psutil safetensors
    .venv/bin/python -m bench.lerobot_check --lerobot-python /tmp/lerobot-venv/bin/python [--codec libx264]

(torchvision 0.25 at most: LeRobot 0.4.4's PyAV backend uses `torchvision.io.VideoReader`, gone since
0.26; its default backend, torchcodec, is not needed.)

It writes 3 episodes x 2 cameras x 40 frames (smooth synthetic frames, state/action arrays, subtasks
with a gap, annotation columns), then runs itself with `--load` under the LeRobot venv: that part
imports only LeRobot and numpy, reads every item of `LeRobotDataset(repo_id, root=...,
video_backend="pyav")` and dumps them to an .npz. Back here it compares every item with what was
written and with annograph's own reader: arrays identical, timestamps frame_index / fps from 0 in each
episode, task and subtask text, each camera frame identical to annograph's decoding of the same file
and within the codec bound of the original. Exit status 0 when everything matches.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

FPS, HEIGHT, WIDTH, LENGTHS = 30, 96, 128, (40, 37, 40)
CAMERAS = ("front", "wrist")
TASKS = ("pick up the red cube", "put the cube in the bowl")
CODEC_LOSS = (
    3.0  # levels of 0..255 beyond the yuv420p round trip (see tests/domain/edits/test_lerobot_writer.py)
)


def load(root: Path, dump: Path) -> None:
    """Runs in the LeRobot venv: every item of the dataset, as LeRobotDataset gives it, into `dump`."""
    import lerobot
    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset("annograph/export-check", root=root, video_backend="pyav")
    items = [dataset[i] for i in range(len(dataset))]
    arrays = {
        key: np.stack([item[key].numpy() for item in items])
        for key in (
            "observation.state",
            "action",
            "timestamp",
            "frame_index",
            "episode_index",
            "index",
            "subtask_index",
        )
    }
    for camera in CAMERAS:
        # LeRobot gives C x H x W float32 in [0, 1], from the decoded uint8 RGB frame divided by 255.
        frames = [item[f"observation.images.{camera}"] for item in items]
        arrays[camera] = np.stack(
            [(f * 255).round().to(torch.uint8).permute(1, 2, 0).numpy() for f in frames]
        )
    text = {
        "task": [item["task"] for item in items],
        "subtask": [item.get("subtask") for item in items],
        "versions": {"lerobot": lerobot.__version__, "torch": torch.__version__},
        "length": len(dataset),
        "episodes": dataset.num_episodes,
    }
    np.savez(dump, **arrays, text=np.array(json.dumps(text)))


# -- the annograph side ------------------------------------------------------------------------------


def smooth(episode: int, camera: int, n: int) -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    r = 128 + 90 * np.sin(2 * np.pi * (x + 3 * n) / 64 + episode)
    g = 128 + 90 * np.sin(2 * np.pi * (y + 2 * n) / 48 + camera)
    b = 128 + 60 * np.cos(2 * np.pi * (x + y) / 96 + 0.5 * episode + 0.2 * n)
    return np.stack([r, g, b], axis=-1).round().astype(np.uint8)


def frames(episode: int, camera: int, length: int) -> Iterator[np.ndarray]:
    for n in range(length):
        yield smooth(episode, camera, n)


def state(episode: int, length: int) -> np.ndarray:
    t = np.arange(length)[:, None] / FPS
    return (0.5 * np.sin(t * (1 + np.arange(7)) + episode)).astype(np.float32)


def subtasks(length: int) -> np.ndarray:
    a, b, c = length // 4, length // 3, 2 * length // 3
    return np.array([0] * a + [-1] * (b - a) + [1] * (c - b) + [2] * (length - c))


def write(root: Path, codec: str) -> None:
    from domain.edits.lerobot_writer import (
        ArrayFeature,
        LeRobotEpisode,
        LeRobotSpec,
        Subtask,
        VideoOptions,
        write_lerobot_dataset,
    )

    joints = tuple(f"joint_{i}" for i in range(1, 7)) + ("gripper",)
    spec = LeRobotSpec(
        fps=FPS,
        robot_type="so100",
        arrays={"observation.state": ArrayFeature(7, names=joints), "action": ArrayFeature(7, names=joints)},
        cameras={c: (HEIGHT, WIDTH) for c in CAMERAS},
        episode_columns={"annotation/consensus_rating": "string", "annotation/agreement": "float64"},
        subtasks=[
            Subtask("reach", "reach for the cube"),
            Subtask("grasp", "close the gripper"),
            Subtask("place"),
        ],
        video=VideoOptions(codec=codec),
    )
    episodes = (
        LeRobotEpisode(
            task=TASKS[e % 2],
            arrays={"observation.state": state(e, n), "action": state(e, n) + 0.01},
            frames={c: frames(e, k, n) for k, c in enumerate(CAMERAS)},
            columns={"annotation/consensus_rating": "SUCCESS", "annotation/agreement": 1.0},
            subtask_index=subtasks(n),
        )
        for e, n in enumerate(LENGTHS)
    )
    write_lerobot_dataset(root, spec, episodes)


def annograph_frames(root: Path) -> dict[str, list[np.ndarray]]:
    """Every frame of every camera, in dataset order, through annograph's LeRobot reader."""
    from persistence.episode_sources import lerobot
    from persistence.episode_sources.base import make_ref
    from persistence.video_files import VideoFileCache

    out: dict[str, list[np.ndarray]] = {c: [] for c in CAMERAS}
    videos = VideoFileCache()
    for episode in lerobot.scan(root, lerobot.Options()).episodes:
        reader = lerobot.open_episode(
            make_ref(lerobot.FORMAT, str(root), episode.file, episode.locator), videos
        )
        for camera in CAMERAS:
            out[camera] += reader.frames(camera, list(range(episode.length)))
        reader.close()
    videos.close()
    return out


def compare(root: Path, dump: Path) -> list[str]:
    """Every mismatch between LeRobot's items and what was written (empty: all match)."""
    import av

    data = np.load(dump)
    text = json.loads(str(data["text"]))
    problems: list[str] = []
    starts = np.cumsum((0, *LENGTHS))
    if text["length"] != sum(LENGTHS) or text["episodes"] != len(LENGTHS):
        problems.append(f"LeRobot sees {text['length']} frames in {text['episodes']} episodes")
        return problems
    names = ["reach for the cube", "close the gripper", "place"]  # the index of meta/subtasks.parquet
    ours = annograph_frames(root)
    worst = {c: 0.0 for c in CAMERAS}
    for e, n in enumerate(LENGTHS):
        rows = slice(starts[e], starts[e + 1])
        checks = {
            "observation.state": np.array_equal(data["observation.state"][rows], state(e, n)),
            "action": np.array_equal(data["action"][rows], state(e, n) + np.float32(0.01)),
            "timestamp": np.array_equal(data["timestamp"][rows], (np.arange(n) / FPS).astype(np.float32)),
            "frame_index": np.array_equal(data["frame_index"][rows], np.arange(n)),
            "episode_index": np.array_equal(data["episode_index"][rows], np.full(n, e)),
            "task": text["task"][rows] == [TASKS[e % 2]] * n,
            "subtask": text["subtask"][rows] == [names[s] if s >= 0 else "" for s in subtasks(n)],
        }
        problems += [f"episode {e}: {name} differs" for name, ok in checks.items() if not ok]
        for k, camera in enumerate(CAMERAS):
            for i in range(n):
                got, original = data[camera][starts[e] + i], smooth(e, k, i)
                if not np.array_equal(got, ours[camera][starts[e] + i]):
                    problems.append(
                        f"episode {e} {camera} frame {i}: LeRobot and annograph decode differently"
                    )
                rgb = av.VideoFrame.from_ndarray(original, format="rgb24").reformat(format="yuv420p")
                floor = _mae(rgb.reformat(format="rgb24").to_ndarray(), original)
                error = _mae(got, original)
                worst[camera] = max(worst[camera], error - floor)
                if error > floor + CODEC_LOSS:
                    problems.append(
                        f"episode {e} {camera} frame {i}: error {error:.2f} > {floor:.2f} + {CODEC_LOSS}"
                    )
    print(
        f"LeRobot {text['versions']['lerobot']} (torch {text['versions']['torch']}): {text['length']} items"
    )
    print(
        "worst codec loss beyond the yuv420p round trip, levels:", {c: round(v, 2) for c, v in worst.items()}
    )
    return problems


def _mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lerobot-python", default=os.environ.get("LEROBOT_PYTHON"))
    parser.add_argument("--codec", default="libsvtav1", choices=("libsvtav1", "libx264"))
    parser.add_argument("--out", type=Path, help="where to write the dataset (default: a temp folder)")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load is not None:
        load(args.load, args.dump)
        return 0
    if not args.lerobot_python or not Path(args.lerobot_python).exists():
        print("LeRobot's python not found: pass --lerobot-python or set LEROBOT_PYTHON (see the docstring)")
        return 2
    with tempfile.TemporaryDirectory(prefix="lerobot-check-") as scratch:
        root = args.out or Path(scratch) / "dataset"
        write(root, args.codec)
        dump = Path(scratch) / "items.npz"
        env = os.environ | {
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HOME": str(Path(scratch) / "hf"),
        }
        command = [
            args.lerobot_python,
            "-P",  # bench/ not on sys.path: bench/lerobot.py would shadow the lerobot package
            str(Path(__file__).resolve()),
            "--load",
            str(root),
            "--dump",
            str(dump),
        ]
        run = subprocess.run(command, env=env, cwd=scratch, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            print("LeRobotDataset failed to load the export:\n" + run.stderr[-4000:])
            return 1
        problems = compare(root, dump)
    for problem in problems[:50]:
        print("MISMATCH", problem)
    print("OK: LeRobotDataset reads the export as written" if not problems else f"{len(problems)} mismatches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
