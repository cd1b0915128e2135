"""The demo datasets: deterministic synthetic pick-and-place recordings of a 7-joint arm.

Two episode sets share the arm's recording (HDF5 layout, tasks, trajectories) and differ in what
their cameras film (DemoSpec.scene):
  - "workspace" (`demo-pick-and-place`, `annograph demo`'s robot set): the robot's own cameras on
    its table: the arm drawn from each frame's joint states, the gripper opening and closing with
    observation.gripper, the task's object (red cube, green cylinder, blue mug) resting, carried
    while grasped and placed on its goal (bin, tray, shelf), and distractor objects; true boxes of
    the objects ("cube", "cylinder", "mug") and the gripper ("gripper"); and the known defects.
    Default 24 episodes: 3 jitter, 7 hesitation, 11 velocity_spike, 15 dropped_frame,
    19 nan_state; the rule for other sizes and each record's meaning are in defects.py.
  - "street" (`demo-street`, street_spec): outward cameras on a plaza, true boxes of the
    pedestrians and cyclists crossing it; clean recordings, the set model validation uses.
The box conventions (tight pixel bounds, truncated, occluded) are in scene.py and workspace.py.
"""

from domain.datasets.demo.defects import DEFECT_EPISODES
from domain.datasets.demo.episode import DemoEpisode, generate_episode
from domain.datasets.demo.spec import DemoSpec, street_spec
from domain.datasets.demo.writer import write_demo_dataset

__all__ = [
    "DEFECT_EPISODES",
    "DemoEpisode",
    "DemoSpec",
    "generate_episode",
    "street_spec",
    "write_demo_dataset",
]
