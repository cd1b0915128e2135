"""Pure numpy kinematics of the demo arm: a pick-and-place plan of minimum-jerk segments.

Plan time is counted in frames (floats) so a recording can sample it at any frame times:
a dropped frame simply samples k+1 where k was expected. Every segment starts and ends at
rest (minimum-jerk profile 10s^3 - 15s^4 + 6s^5), the arm dwells while the gripper closes
or opens, and an optional hold splits the "move" segment to make a hesitation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Franka-like home pose and modified-DH chain (a, d, alpha), flange + hand offset last.
HOME = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])
_DH = np.array(
    [
        [0.0, 0.333, 0.0],
        [0.0, 0.0, -np.pi / 2],
        [0.0, 0.316, np.pi / 2],
        [0.0825, 0.0, np.pi / 2],
        [-0.0825, 0.384, -np.pi / 2],
        [0.0, 0.0, np.pi / 2],
        [0.088, 0.0, np.pi / 2],
    ]
)
_TOOL_LENGTH = 0.107 + 0.1034
# Where each task puts the object, as a base-joint angle (bin, tray, shelf).
_PLACE_AZIMUTH = (-0.9, 0.85, -0.35)
_DESCEND = np.array([0.0, 0.18, 0.0, 0.22, 0.0, 0.08, 0.0])
MIN_PIECE = 2  # frames per motion segment, so even 40-frame episodes fit a full task
SLOW = 0.01  # rad/s: below this the arm counts as stopped
TAIL = 3  # frames a segment may spend below SLOW at each end


def min_jerk(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s * s)


@dataclass(frozen=True)
class Plan:
    knots: np.ndarray  # (K,) increasing frame times
    joints: np.ndarray  # (K, 7) joint positions at the knots
    grasp: tuple[int, int]  # gripper closes over these frames
    release: tuple[int, int]  # gripper opens over these frames
    closed: float  # gripper reading when closed on the object
    phases: dict[str, tuple[int, int]]  # frame range (start, end) of each phase
    hold: tuple[int, int] | None = None  # knot frames of a mid-motion halt


def gripper_frames(n_frames: int) -> int:
    return int(np.clip(n_frames // 15, 4, 10))


def _waypoints(rng: np.random.Generator, task_index: int) -> list[np.ndarray]:
    az = rng.uniform(-0.45, 0.45)
    reach = rng.uniform(0.0, 1.0)
    wobble = rng.uniform(-0.08, 0.08, size=7)
    pre = HOME + np.array([az, 0.30 + 0.25 * reach, 0.0, 0.40 + 0.30 * reach, 0.0, -0.12, az]) + wobble
    pre[6] += rng.uniform(-0.6, 0.6)  # wrist turned to the object's yaw
    grasp = pre + _DESCEND
    lift = pre - 0.4 * _DESCEND
    place_az = _PLACE_AZIMUTH[task_index % len(_PLACE_AZIMUTH)] + rng.uniform(-0.15, 0.15)
    place = HOME + np.array([place_az, 0.35, 0.0, 0.45, 0.0, -0.10, place_az]) + rng.uniform(-0.06, 0.06, 7)
    return [HOME.copy(), pre, grasp, lift, place, HOME.copy()]


def _allocate(weights: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Integer frame counts >= minimum, summing to total, roughly proportional to weights."""
    spare = total - minimum * len(weights)
    if spare < 0:
        raise ValueError(f"{total} frames cannot hold {len(weights)} segments")
    share = spare * weights / weights.sum()
    counts = np.floor(share).astype(int)
    rest = spare - counts.sum()
    counts[np.argsort(counts - share)[:rest]] += 1  # largest remainders first
    return counts + minimum


def _slowest(distance: np.ndarray, fps: float) -> np.ndarray:
    """Longest segment (frames) whose near-rest tails (speed < SLOW) last at most TAIL frames.

    Minimum-jerk speed near an end is ~30 s^2 |dq| fps / D, so over-long segments creep for
    many frames; capping them keeps clean stops short and the spare time becomes idling.
    """
    return np.floor((TAIL**2 * 30.0 * np.maximum(distance, 1e-3) * fps / SLOW) ** (1 / 3))


def make_plan(
    rng: np.random.Generator, n_frames: int, task_index: int, halt: int = 0, fps: float = 30.0
) -> Plan:
    """A pick-and-place over frames 0..n_frames-1; halt > 0 adds that many zero-speed frames mid-move."""
    home, pre, grasp, lift, place, back = _waypoints(rng, task_index)
    g = gripper_frames(n_frames)
    # The gripper starts moving while the arm settles, so the arm rests g - 2*lead frames (none when
    # frames are scarce: short episodes need every frame to keep their speeds even).
    lead = g // 4 if n_frames >= 60 else g // 2
    idle = int(np.clip(n_frames // 60, 0, 5))
    hold = halt + 1 if halt else 0  # halt frames strictly inside the hold knots have zero speed
    moves = [(home, pre), (pre, grasp), (grasp, lift), (lift, place), (place, back)]
    dist = np.array([np.linalg.norm(b - a) for a, b in moves])
    spread = rng.uniform(0.85, 1.15, size=len(moves))
    weights = dist**0.8 * spread if n_frames >= 60 else dist  # scarce frames: even peak speeds
    budget = n_frames - 1 - 2 * idle - 2 * (g - 2 * lead) - hold
    dur = _allocate(weights, budget - (MIN_PIECE if hold else 0), MIN_PIECE)
    if hold:
        dur[3] += MIN_PIECE
    dur = np.minimum(dur, np.maximum(_slowest(dist, fps), MIN_PIECE).astype(int) + (MIN_PIECE if hold else 0))
    spare = budget - int(dur.sum())
    first_idle = idle + int(rng.integers(0, spare + 1))
    times, poses, phases = [0.0, float(first_idle)], [home, home], {"idle_start": (0, first_idle)}

    def go(name: str, pose: np.ndarray, frames: int) -> None:
        start = int(times[-1])
        times.append(times[-1] + frames)
        poses.append(pose)
        phases[name] = (start, int(times[-1]))

    go("reach", pre, int(dur[0]))
    go("descend", grasp, int(dur[1]))
    go("grasp", grasp, g - 2 * lead)
    go("lift", lift, int(dur[2]))
    hold_knots = None
    if hold:
        first = int(np.clip(round(dur[3] * rng.uniform(0.35, 0.65)), MIN_PIECE, dur[3] - MIN_PIECE))
        mid = lift + (place - lift) * (first / dur[3])
        start = int(times[-1])
        go("move", mid, first)
        go("halt", mid, hold)
        hold_knots = phases["halt"]
        go("move", place, int(dur[3]) - first)
        phases["move"] = (start, int(times[-1]))
    else:
        go("move", place, int(dur[3]))
    go("release", place, g - 2 * lead)
    go("return", back, int(dur[4]))
    go("idle_end", back, n_frames - 1 - int(times[-1]))
    # The gripper windows reach `lead` frames into the approach before and the departure after.
    for name in ("grasp", "release"):
        start, end = phases[name]
        phases[name] = (start - lead, end + lead)
    return Plan(
        knots=np.asarray(times),
        joints=np.asarray(poses),
        grasp=phases["grasp"],
        release=phases["release"],
        closed=float(rng.uniform(0.7, 0.9)),
        phases=phases,
        hold=hold_knots,
    )


def joints_at(plan: Plan, t: np.ndarray) -> np.ndarray:
    """Joint positions (len(t), 7) at frame times t; the pose holds before and after the plan."""
    t = np.asarray(t, dtype=np.float64)
    last = len(plan.knots) - 2
    seg = np.clip(np.searchsorted(plan.knots, t, side="right") - 1, 0, last)
    span = plan.knots[seg + 1] - plan.knots[seg]
    s = min_jerk((t - plan.knots[seg]) / np.where(span > 0, span, 1.0))
    a, b = plan.joints[seg], plan.joints[seg + 1]
    return a + (b - a) * s[:, None]


def gripper_at(plan: Plan, t: np.ndarray) -> np.ndarray:
    """Measured opening 0 (open) .. closed, changing smoothly over the grasp and release frames."""
    (g0, g1), (r0, r1) = plan.grasp, plan.release
    t = np.asarray(t, dtype=np.float64)
    return plan.closed * (min_jerk((t - g0) / (g1 - g0)) - min_jerk((t - r0) / (r1 - r0)))


def gripper_command(plan: Plan, t: np.ndarray) -> np.ndarray:
    """Binary command: close from the start of the grasp until the release starts."""
    t = np.asarray(t, dtype=np.float64)
    return ((t >= plan.grasp[0]) & (t < plan.release[0])).astype(np.float64)


def velocity(state: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Joint velocities as central differences over the real timestamps (gaps included)."""
    if len(state) < 2:
        return np.zeros_like(state)
    return np.gradient(state, timestamps, axis=0)


def _dh_transforms(theta: np.ndarray, a: float, d: float, alpha: float) -> np.ndarray:
    ct, st, ca, sa = np.cos(theta), np.sin(theta), np.cos(alpha), np.sin(alpha)
    m = np.zeros((len(theta), 4, 4))
    m[:, 0, 0], m[:, 0, 1], m[:, 0, 3] = ct, -st, a
    m[:, 1, 0], m[:, 1, 1], m[:, 1, 2], m[:, 1, 3] = st * ca, ct * ca, -sa, -sa * d
    m[:, 2, 0], m[:, 2, 1], m[:, 2, 2], m[:, 2, 3] = st * sa, ct * sa, ca, ca * d
    m[:, 3, 3] = 1.0
    return m


def _quaternions(r: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations to (N, 4) unit quaternions x, y, z, w, sign-continuous over N."""
    m00, m11, m22 = r[:, 0, 0], r[:, 1, 1], r[:, 2, 2]
    cands = np.stack(
        [
            [r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1], 1 + m00 + m11 + m22],
            [1 + m00 - m11 - m22, r[:, 0, 1] + r[:, 1, 0], r[:, 0, 2] + r[:, 2, 0], r[:, 2, 1] - r[:, 1, 2]],
            [r[:, 0, 1] + r[:, 1, 0], 1 - m00 + m11 - m22, r[:, 1, 2] + r[:, 2, 1], r[:, 0, 2] - r[:, 2, 0]],
            [r[:, 0, 2] + r[:, 2, 0], r[:, 1, 2] + r[:, 2, 1], 1 - m00 - m11 + m22, r[:, 1, 0] - r[:, 0, 1]],
        ]
    )  # (4 cases, 4 components, N): the case with the largest diagonal term is well conditioned
    best = np.argmax(np.stack([m00 + m11 + m22, m00, m11, m22]), axis=0)
    q = cands[best, :, np.arange(len(best))]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    if len(q) > 1:
        flips = np.where(np.sum(q[1:] * q[:-1], axis=1) < 0, -1.0, 1.0)
        q[1:] *= np.cumprod(flips)[:, None]
    return q


def chain(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The arm's frames for joint positions q (N, 7), in the base frame (x forward, z up, metres).

    Returns (points, tool): points (N, 9, 3) are the base, the seven joint frames' origins and the
    tool centre point (between the fingertips); tool (N, 3, 3) is the hand's rotation, whose columns
    are its x, y (the fingers open along it) and z (the approach direction) axes.
    """
    q = np.asarray(q, dtype=np.float64)
    t = np.broadcast_to(np.eye(4), (len(q), 4, 4)).copy()
    points = [t[:, :3, 3].copy()]
    for j, (a, d, alpha) in enumerate(_DH):
        t = t @ _dh_transforms(q[:, j], a, d, alpha)
        points.append(t[:, :3, 3].copy())
    t = t @ _dh_transforms(np.zeros(len(q)), 0.0, _TOOL_LENGTH, 0.0)
    points.append(t[:, :3, 3])
    return np.stack(points, axis=1), t[:, :3, :3]


def forward_kinematics(q: np.ndarray) -> np.ndarray:
    """End-effector pose (N, 7): x, y, z (m) and unit quaternion qx, qy, qz, qw."""
    points, tool = chain(q)
    return np.concatenate([points[:, -1], _quaternions(tool)], axis=1)
