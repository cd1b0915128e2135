"""Known defects of the demo dataset: which episode carries which, how each is made and described.

With the default 24 episodes: 3 jitter, 7 hesitation, 11 velocity_spike, 15 dropped_frame,
19 nan_state; every other episode is clean. For other sizes, defect k (in DEFECT_TYPES order)
goes to:
  - episodes >= 20: the same indices as above;
  - 5 <= episodes < 20: episode floor((k + 0.5) * episodes / 5) (evenly spread, all distinct);
  - episodes < 5: episode k for k < episodes (the later types are left out).

Every record's frame range [from_frame, to_frame] is inclusive and exact:
  - jitter: band-limited noise (>= 12 Hz at 30 fps, i.e. >= 0.4 fps, tapered to zero at both
    ends) added to all joints of the state strictly inside the range, so state, velocity and
    pose differ from the commanded motion only within it;
  - hesitation: the longest run of frames with joint speed (L2 norm) < 0.01 rad/s around a
    halt in the middle of the "move" segment; 15..30 frames, away from gripper changes;
  - velocity_spike: the state is displaced on the middle frame only, so the central-difference
    velocity (and speed) jumps on the first and last frame of the range;
  - dropped_frame: timestamp[to_frame] - timestamp[from_frame] == 2 / fps (to = from + 1); the
    samples after the gap are one frame time later, and the frame count stays N;
  - nan_state: observation.state is NaN at from_frame (== to_frame) for `joints`, nowhere else.
Jitter, spike and NaN are measurement faults: actions stay as commanded. Velocity and ee_pose
follow the faulty state, except that NaN stays confined to observation.state.
"""

from __future__ import annotations

import numpy as np

DEFECT_TYPES = ("jitter", "hesitation", "velocity_spike", "dropped_frame", "nan_state")
DEFECT_EPISODES: dict[int, str] = {
    3: "jitter",
    7: "hesitation",
    11: "velocity_spike",
    15: "dropped_frame",
    19: "nan_state",
}
JITTER_RMS = 0.02  # rad per joint: plainly visible on a plot of the joint positions
SLOW = 0.01  # rad/s


def assign_defects(episodes: int) -> dict[int, str]:
    """Episode index -> defect type for a dataset of `episodes` episodes (rule in the docstring)."""
    if episodes >= 20:
        return dict(DEFECT_EPISODES)
    if episodes >= 5:
        return {int((k + 0.5) * episodes / 5): kind for k, kind in enumerate(DEFECT_TYPES)}
    return {k: DEFECT_TYPES[k] for k in range(episodes)}


def _record(kind: str, start: int, end: int, description: str, **extra: object) -> dict:
    return {"type": kind, "from_frame": int(start), "to_frame": int(end), "description": description, **extra}


def halt_length(rng: np.random.Generator, n_frames: int) -> int:
    """Frames of exact standstill; the recorded run adds at most 8 slow frames, so it stays <= 30."""
    return int(rng.integers(15, min(22, 15 + (n_frames - 40) // 4) + 1))


def describe_hesitation(speed: np.ndarray, hold: tuple[int, int]) -> dict:
    centre = (hold[0] + hold[1]) // 2
    slow = speed < SLOW
    start, end = centre, centre
    while start > 0 and slow[start - 1]:
        start -= 1
    while end < len(speed) - 1 and slow[end + 1]:
        end += 1
    return _record(
        "hesitation",
        start,
        end,
        f"arm halts mid-move: joint speed < {SLOW} rad/s for {end - start + 1} frames",
    )


def drop_frame(rng: np.random.Generator, n_frames: int, fps: float) -> tuple[np.ndarray, dict]:
    """Frame times 0..n with one time skipped mid-episode, and the record of the gap."""
    k = int(rng.integers(n_frames // 3, 2 * n_frames // 3))
    times = np.concatenate([np.arange(k), np.arange(k + 1, n_frames + 1)]).astype(np.float64)
    text = f"one frame dropped: timestamp steps by 2/fps ({2 / fps:.4f} s) from frame {k - 1} to {k}"
    return times, _record("dropped_frame", k - 1, k, text)


def add_jitter(state: np.ndarray, rng: np.random.Generator, fps: float) -> dict:
    """Add high-frequency noise to every joint over a mid-episode range, in place."""
    n = len(state)
    length = int(np.clip(n // 5, 12, 60))
    start = int(rng.integers(n // 5, max(n // 5 + 1, 4 * n // 5 - length)))
    band = min(12.0, 0.4 * fps)
    spectrum = np.fft.rfft(rng.standard_normal((length, state.shape[1])), axis=0)
    spectrum[np.fft.rfftfreq(length, 1.0 / fps) < band] = 0.0
    noise = np.fft.irfft(spectrum, n=length, axis=0)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(4) / 3)  # zero at both ends: velocity stays clean outside
    taper = np.ones(length)
    taper[:4], taper[-4:] = ramp, ramp[::-1]
    noise *= taper[:, None]
    noise *= JITTER_RMS * rng.uniform(0.7, 1.0, size=state.shape[1]) / np.sqrt(np.mean(noise**2, axis=0))
    state[start : start + length] += noise
    text = f"joint positions jitter: noise above {band:g} Hz, about {JITTER_RMS} rad RMS per joint"
    return _record("jitter", start, start + length - 1, text, joints=list(range(state.shape[1])))


def add_spike(state: np.ndarray, rng: np.random.Generator) -> dict:
    """Displace a few joints on one mid-episode frame, in place (a one-frame sensor glitch)."""
    n = len(state)
    k = int(rng.integers(n // 3, 2 * n // 3))
    joints = np.sort(rng.choice(state.shape[1], size=int(rng.integers(2, 4)), replace=False))
    steps = np.linalg.norm(np.diff(state, axis=0), axis=1)
    size = max(0.3, 8.0 * float(np.percentile(steps, 95)))  # far above any real step of this episode
    direction = rng.choice([-1.0, 1.0], size=len(joints)) * rng.uniform(0.6, 1.0, size=len(joints))
    state[k, joints] += size * direction / np.linalg.norm(direction)
    text = f"state displaced by {size:.2f} rad on frame {k}: speed spikes on frames {k - 1} and {k + 1}"
    return _record("velocity_spike", k - 1, k + 1, text, joints=[int(j) for j in joints])


def add_nan(state: np.ndarray, rng: np.random.Generator) -> dict:
    """Blank one or two joints of one mid-episode frame with NaN, in place."""
    n = len(state)
    k = int(rng.integers(n // 4, 3 * n // 4))
    joints = np.sort(rng.choice(state.shape[1], size=int(rng.integers(1, 3)), replace=False))
    state[k, joints] = np.nan
    text = f"observation.state is NaN on frame {k} for joint index(es) {', '.join(map(str, joints))}"
    return _record("nan_state", k, k, text, joints=[int(j) for j in joints])
