"""The demo datasets' parameters and the fixed vocabulary shared by its modules.

Two scenes share the arm's recording (arrays, tasks, HDF5 layout): "workspace", the robot's own
cameras on its table (workspace.py; the default, `demo-pick-and-place`, with the known defects),
and "street", outward cameras on a plaza with pedestrians and cyclists (scene.py; `demo-street`,
clean recordings, the set model validation uses).
"""

from __future__ import annotations

from dataclasses import dataclass

# Hesitation needs 15+ halted frames plus room for the whole pick-and-place around it.
MIN_EPISODE_LENGTH = 40
MIN_IMAGE_SIDE = 16

ROBOT_TYPE = "7dof_arm"
JOINT_NAMES = tuple(f"joint_{i}" for i in range(1, 8))
EE_POSE_NAMES = ("x", "y", "z", "qx", "qy", "qz", "qw")
SCENES = ("workspace", "street")
# The labels each scene's true boxes use, in the order ground_truth/*.json lists them.
SCENE_LABELS = {"workspace": ("cube", "cylinder", "mug", "gripper"), "street": ("pedestrian", "cyclist")}
DEFAULT_NAMES = {"workspace": "demo-pick-and-place", "street": "demo-street"}
TASKS = (
    "pick the red cube and place it in the bin",
    "pick up the green cylinder and put it on the tray",
    "move the blue mug from the table to the shelf",
)
IMAGE_KEY = "observation.images."


@dataclass(frozen=True)
class DemoSpec:
    episodes: int = 24
    min_length: int = 150
    max_length: int = 600
    fps: float = 30.0
    width: int = 320
    height: int = 240
    cameras: tuple[str, ...] = ("front", "side")
    seed: int = 0
    name: str = ""  # "" means the scene's default name (DEFAULT_NAMES)
    scene: str = "workspace"  # "workspace" | "street"

    def __post_init__(self) -> None:
        if self.scene not in SCENES:
            raise ValueError(f"scene must be one of {', '.join(SCENES)}, got {self.scene!r}")
        if not self.name:
            object.__setattr__(self, "name", DEFAULT_NAMES[self.scene])
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if not MIN_EPISODE_LENGTH <= self.min_length <= self.max_length:
            raise ValueError(
                f"need {MIN_EPISODE_LENGTH} <= min_length <= max_length, "
                f"got {self.min_length}..{self.max_length}"
            )
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if min(self.width, self.height) < MIN_IMAGE_SIDE:
            raise ValueError(f"images must be at least {MIN_IMAGE_SIDE} px a side")
        if not self.cameras or len(set(self.cameras)) != len(self.cameras):
            raise ValueError("cameras must be a non-empty tuple of distinct names")


def street_spec(episodes: int = 8, seed: int = 0) -> DemoSpec:
    """The street set `annograph demo` writes beside the robot set: 150-300 frame episodes, so that
    both sets together write in about the time the street scene alone took as the only demo."""
    return DemoSpec(episodes=episodes, min_length=150, max_length=300, seed=seed, scene="street")


def labels(spec: DemoSpec) -> tuple[str, ...]:
    """The labels of the spec's scene's true boxes."""
    return SCENE_LABELS[spec.scene]


def features(spec: DemoSpec) -> dict[str, dict]:
    """The `features` block of info.json, in the HDF5 dataset order."""
    joints = list(JOINT_NAMES)
    out: dict[str, dict] = {
        "timestamp": {"dtype": "float64", "shape": []},
        "action": {"dtype": "float32", "shape": [8], "names": [*joints, "gripper"]},
        "observation.state": {"dtype": "float32", "shape": [7], "names": joints},
        "observation.velocity": {"dtype": "float32", "shape": [7], "names": joints},
        "observation.ee_pose": {"dtype": "float32", "shape": [7], "names": list(EE_POSE_NAMES)},
        "observation.gripper": {"dtype": "float32", "shape": []},
    }
    for camera in spec.cameras:
        out[IMAGE_KEY + camera] = {"dtype": "uint8", "shape": [spec.height, spec.width, 3]}
    return out
