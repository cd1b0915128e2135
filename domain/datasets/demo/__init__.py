"""The demo dataset: a deterministic synthetic pick-and-place robot dataset with known defects
and the true boxes of the pedestrians and cyclists its cameras see.

Defects (default 24 episodes): 3 jitter, 7 hesitation, 11 velocity_spike, 15 dropped_frame,
19 nan_state; the rule for other sizes and the exact meaning of each record are in defects.py,
the box conventions in scene.py.
"""

from domain.datasets.demo.defects import DEFECT_EPISODES
from domain.datasets.demo.episode import DemoEpisode, generate_episode
from domain.datasets.demo.spec import DemoSpec
from domain.datasets.demo.writer import write_demo_dataset

__all__ = ["DEFECT_EPISODES", "DemoEpisode", "DemoSpec", "generate_episode", "write_demo_dataset"]
