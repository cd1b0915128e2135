"""Pure numpy robot workspace: the arm, its gripper and the objects it moves on a table.

World: the arm's base frame (x forward, y left, z up, metres; motion.chain). The arm stands on a
column beside a table whose top lies where the episode's grasp puts the object's bottom; the
task's goal fixture (bin, tray or shelf) stands on the table under the place pose, its top where
the object's bottom is when released; distractor objects rest on the table. Cameras are pinholes
at fixed poses looking at the table (`front` across the table at the robot, `side` from its
right; any other name a stable spot on a circle around the table).

Every frame follows the episode's recorded kinematics: arm links are capsules between the
chain's joint origins of that frame's state, the fingers open and close with
observation.gripper, and the task object rests until the gripper closes on it (reading >= half
its closed value), moves with the tool centre point while grasped, and rests where it was
released. The table, fixtures and column are painted once (the background); the arm below
the table top is painted under the table; links, gripper and objects above it are painted
far-to-near, so nearer ones occlude farther ones.

Ground truth follows scene.py exactly: a box is the tight bounds of the object's pixels inside
the image (x, y top-left, integer pixels), except that a side where the object goes on beyond
the image lies on that border; `truncated` means it goes on beyond a border; `occluded` means
more than 30 % of its pixels inside the image are painted over by nearer things (arm, gripper,
other objects). Objects are labelled "cube", "cylinder", "mug", and the gripper "gripper".
Red values tell the painters apart: background red % 4 == 0, arm links % 8 == 2, gripper
% 8 == 6, object k (0 the task's, then the distractors) % 8 == 2k + 1, so every object's
pixels in a frame can be found from the image alone.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from domain.datasets.demo.motion import chain
from domain.datasets.demo.scene import convex_hull, shape_bounds, shape_mask

HFOV = np.radians(62.0)
NEAR = 0.1  # m: points closer to a camera than this are not drawn
# The task's object (kind, rgb) and goal fixture, by task index (spec.TASKS order).
TASK_OBJECTS = (
    ("cube", (200, 40, 40), "bin"),
    ("cylinder", (40, 170, 60), "tray"),
    ("mug", (40, 80, 200), "shelf"),
)
_DISTRACTOR_COLOURS = ((230, 200, 40), (240, 140, 30), (150, 70, 170), (40, 180, 180), (225, 225, 215))
_SIZE = {"cube": (0.025, 0.025), "cylinder": (0.028, 0.04), "mug": (0.034, 0.04)}  # half width, half height
_FINGER_GAP = 0.09  # m between the fingers when open
_TABLE = (0.2, 0.9, -0.6, 0.6)  # x0, x1, y0, y1 of the table top
_TARGET = np.array([0.42, 0.0, 0.1])  # what the cameras look at, above the table top (z added)
_POSES = {"front": (1.25, 0.05, 0.62), "side": (0.42, -1.1, 0.55)}  # x, y, height above the table
ARM_RGB, GRIPPER_RGB, _DARK = (226, 226, 222), (70, 70, 76), (60, 62, 68)
PALM, FINGER = 0.065, 0.018  # m: palm behind the tool centre point, finger width
LINK_WIDTH = (0.12, 0.11, 0.1, 0.09, 0.085, 0.08, 0.075, 0.07)  # m, link i joins points i, i+1


@dataclass(frozen=True)
class Camera:
    """A pinhole camera (horizontal field of view HFOV) at a fixed pose in the world."""

    name: str
    position: np.ndarray  # (3,) m, world
    axes: np.ndarray  # (3, 3) rows: right, down, forward (the optical axis), world
    width: int
    height: int

    @property
    def focal(self) -> float:
        return 0.5 * self.width / np.tan(HFOV / 2)

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 3): u, v (pixels, top-left origin) and depth (m)."""
        c = (np.asarray(points, dtype=np.float64) - self.position) @ self.axes.T
        depth = np.maximum(c[..., 2], 1e-6)
        u = self.width / 2 + self.focal * c[..., 0] / depth
        v = self.height / 2 + self.focal * c[..., 1] / depth
        return np.stack([u, v, c[..., 2]], axis=-1)


@dataclass(frozen=True)
class Thing:
    """An object on the table: its kind, colours (red as the residue rule says) and path."""

    track_id: str
    label: str
    half: tuple[float, float]  # half width, half height, m
    yaw: float
    colors: np.ndarray  # (3, 3) uint8: body, top, inside (mugs)
    centres: np.ndarray  # (N, 3) m, its centre on every frame


@dataclass(frozen=True)
class Workspace:
    """One episode's workspace: what make_workspace builds and workspace_frames.render paints."""

    cameras: dict[str, Camera]
    backgrounds: dict[str, np.ndarray]  # (H, W, 3) uint8, red % 4 == 0
    tables: dict[str, np.ndarray]  # (H, W) bool: table and fixtures, which hide the arm below the top
    table_z: float
    keypoints: np.ndarray  # (N, 16, 3) m: arm chain, palm and fingers on every frame (workspace_frames)
    opening: np.ndarray  # (N,) m between the fingers
    things: tuple[Thing, ...]
    grasped: tuple[int, int]  # frames [first, end) during which the task object is held
    # workspace_frames' sprites of objects at rest, by (camera, track id): drawn once, reused
    resting: dict = field(default_factory=dict, compare=False, repr=False)


def _look_at(name: str, eye: np.ndarray, target: np.ndarray, width: int, height: int) -> Camera:
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return Camera(name, eye, np.stack([right, down, forward]), width, height)


def make_camera(name: str, width: int, height: int, table_z: float) -> Camera:
    target = _TARGET + [0.0, 0.0, table_z]
    if name in _POSES:
        x, y, up = _POSES[name]
    else:  # any other name: a stable spot on a circle around the table, never behind the robot
        angle = (zlib.crc32(name.encode()) % 3600) / 3600 * 1.6 * np.pi - 0.8 * np.pi
        x, y, up = target[0] + 1.3 * np.cos(angle), 1.3 * np.sin(angle), 0.7
    return _look_at(name, np.array([x, y, table_z + up]), target, width, height)


def residue(rgb, value: int, modulus: int) -> np.ndarray:
    """rgb (..., 3) as uint8 with red % modulus == value (red lowered by less than modulus)."""
    c = np.clip(np.asarray(rgb, dtype=np.int64), 0, 255 - modulus)
    c[..., 0] = c[..., 0] - c[..., 0] % modulus + value
    return c.astype(np.uint8)


def _box_corners(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> np.ndarray:
    return np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)])


def _solid(cam: Camera, corners: np.ndarray, side, top, index: int = 0) -> list[tuple]:
    """A box-like solid: its silhouette in `side`, then its top face in `top` when seen from above."""
    p = cam.project(corners)
    if np.any(p[:, 2] < NEAR):
        return []
    shapes = [("poly", index, convex_hull(p[:, :2]))]
    top_z = corners[:, 2].max()
    if cam.position[2] > top_z:
        shapes.append(("poly", index + 1, convex_hull(p[corners[:, 2] == top_z, :2])))
    return [(s, side if i == 0 else top) for i, s in enumerate(shapes)]


def paint(image: np.ndarray, shapes: list[tuple], colors, where: np.ndarray | None = None) -> np.ndarray:
    """Paint shapes (clipped to the image) in order; returns the union mask of what they cover."""
    h, w = image.shape[:2]
    union = np.zeros((h, w), dtype=bool)
    for shape, color in zip(shapes, colors, strict=True):
        x0, y0, x1, y1 = shape_bounds(shape)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        m = shape_mask(shape, x0, y0, x1, y1)
        if where is not None:
            m &= where[y0:y1, x0:x1]
        image[y0:y1, x0:x1][m] = color
        union[y0:y1, x0:x1] |= m
    return union


def capsule(cam: Camera, a: np.ndarray, b: np.ndarray, width: float, color: int) -> tuple | None:
    pa, pb = cam.project(np.stack([a, b]))
    if min(pa[2], pb[2]) < NEAR:
        return None
    return ("seg", color, pa[0], pa[1], pb[0], pb[1], width * cam.focal / (0.5 * (pa[2] + pb[2])))


def make_background(
    rng: np.random.Generator,
    cam: Camera,
    table_z: float,
    fixture: tuple[str, np.ndarray, float],
    stand: tuple[np.ndarray, float],
) -> tuple[np.ndarray, np.ndarray]:
    """The static frame (wall, floor, column, table, the stand the object starts on, the goal
    fixture) and the mask of the table and what stands on it (bool, (H, W))."""
    h, w = cam.height, cam.width
    # the horizon row of a level line at the camera's height, clipped to the frame
    tilt = cam.axes[2][2]
    horizon = int(np.clip(h / 2 + cam.focal * tilt / max(np.sqrt(1 - tilt**2), 1e-6), 0, h))
    rows = np.arange(h)[:, None]
    wall = rng.uniform([185, 190, 195], [215, 218, 222])
    floor = rng.uniform([95, 95, 100], [125, 120, 118])
    col = np.where(rows < horizon, wall - 25 * rows / max(h, 1), floor + 40 * (rows - horizon) / max(h, 1))
    img = np.broadcast_to(col[:, None, :], (h, w, 3)).copy()
    floor_z = table_z - 0.74
    column = capsule(cam, np.array([0.0, 0.0, floor_z]), np.zeros(3), 0.16, 0)
    if column is not None:
        paint(img, [column], [_DARK])
    x0, x1, y0, y1 = _TABLE
    shapes: list[tuple] = []
    for lx, ly in (
        (x0 + 0.04, y0 + 0.04),
        (x0 + 0.04, y1 - 0.04),
        (x1 - 0.04, y0 + 0.04),
        (x1 - 0.04, y1 - 0.04),
    ):
        leg = capsule(cam, np.array([lx, ly, floor_z]), np.array([lx, ly, table_z - 0.04]), 0.05, 0)
        if leg is not None:
            shapes.append((leg, (110, 80, 55)))
    wood = rng.uniform([150, 110, 70], [185, 140, 95])
    shapes += _solid(cam, _box_corners(x0, x1, y0, y1, table_z - 0.04, table_z), wood * 0.7, wood)
    (sx, sy, _), stand_top = stand
    if stand_top > table_z + 0.002:  # a grey block lifting the object to where it is grasped
        shapes += _solid(
            cam,
            _box_corners(sx - 0.05, sx + 0.05, sy - 0.05, sy + 0.05, table_z, stand_top),
            (105, 108, 112),
            (150, 152, 156),
        )
    kind, at, top = fixture
    fx, fy = at[0], at[1]
    if kind == "bin":  # an open crate: the object rests on the load inside it
        shapes += _solid(
            cam,
            _box_corners(fx - 0.1, fx + 0.1, fy - 0.08, fy + 0.08, table_z, top + 0.01),
            (70, 90, 120),
            (35, 40, 50),
        )
    elif kind == "tray":  # a flat tray on a pedestal
        post = capsule(cam, np.array([fx, fy, table_z]), np.array([fx, fy, top - 0.012]), 0.05, 0)
        shapes += [(post, (90, 90, 95))] if post is not None else []
        shapes += _solid(
            cam,
            _box_corners(fx - 0.11, fx + 0.11, fy - 0.08, fy + 0.08, top - 0.012, top),
            (160, 100, 40),
            (205, 140, 65),
        )
    else:  # a shelf board on two posts
        for dy in (-0.12, 0.12):
            post = capsule(
                cam, np.array([fx, fy + dy, table_z]), np.array([fx, fy + dy, top - 0.02]), 0.03, 0
            )
            shapes += [(post, (120, 90, 60))] if post is not None else []
        shapes += _solid(
            cam,
            _box_corners(fx - 0.09, fx + 0.09, fy - 0.16, fy + 0.16, top - 0.02, top),
            (140, 105, 70),
            (180, 140, 95),
        )
    hides = paint(img, [s for s, _ in shapes], [np.asarray(c) for _, c in shapes])
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    img[..., 0] &= 0xFC
    return img, hides


def thing_shapes(cam: Camera, thing: Thing, centre: np.ndarray) -> list[tuple]:
    """Silhouette, top and (mugs) inside and handle of an object at `centre`, colour indexes 0-2."""
    r, hh = thing.half
    if thing.label == "cube":
        c, s = np.cos(thing.yaw), np.sin(thing.yaw)
        corners = np.array(
            [[dx * c - dy * s, dx * s + dy * c, dz] for dx in (-r, r) for dy in (-r, r) for dz in (-hh, hh)]
        )
        return [s for s, _ in _solid(cam, centre + corners, 0, 1)]
    ring = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    circle = np.stack([r * np.cos(ring), r * np.sin(ring), np.zeros_like(ring)], axis=1)
    pts = cam.project(np.concatenate([centre + circle - [0, 0, hh], centre + circle + [0, 0, hh]]))
    if np.any(pts[:, 2] < NEAR):
        return []
    shapes = [("poly", 0, convex_hull(pts[:, :2]))]
    if cam.position[2] > centre[2] + hh:
        shapes.append(("poly", 1, convex_hull(pts[16:, :2])))
        if thing.label == "mug":
            inner = cam.project(centre + 0.8 * circle + [0, 0, hh])
            shapes.append(("poly", 2, convex_hull(inner[:, :2])))
    if thing.label == "mug":
        out = np.array([np.cos(thing.yaw), np.sin(thing.yaw), 0.0])
        knots = centre + np.array(
            [
                r * out + [0, 0, 0.6 * hh],
                (r + 0.025) * out + [0, 0, 0.3 * hh],
                (r + 0.025) * out - [0, 0, 0.3 * hh],
                r * out - [0, 0, 0.6 * hh],
            ]
        )
        for a, b in zip(knots[:-1], knots[1:], strict=True):
            seg = capsule(cam, a, b, 0.012, 0)
            if seg is not None:
                shapes.append(seg)
    return shapes


def _hold(gripper: np.ndarray, closed: float) -> tuple[int, int]:
    """Frames [first, end) whose gripper reading is at least half its closed value."""
    held = np.flatnonzero(gripper >= 0.5 * closed)
    if held.size == 0:
        return len(gripper), len(gripper)
    first = int(held[0])
    after = np.flatnonzero(gripper[first:] < 0.5 * closed)
    return first, first + int(after[0]) if after.size else len(gripper)


def _spot(rng: np.random.Generator, taken: list[np.ndarray]) -> np.ndarray:
    """A free (x, y) on the table, 0.14 m from every spot taken (the last try if none is)."""
    x0, x1, y0, y1 = _TABLE
    for _ in range(60):
        xy = rng.uniform([x0 + 0.12, y0 + 0.08], [x1 - 0.06, y1 - 0.08])
        if all(np.hypot(*(xy - t[:2])) >= 0.14 for t in taken):
            break
    return xy


def make_workspace(
    rng: np.random.Generator,
    cameras: tuple[str, ...],
    size: tuple[int, int],
    joints: np.ndarray,
    gripper: np.ndarray,
    closed: float,
    task_index: int,
) -> Workspace:
    """The workspace of one episode: joints (N, 7) rad as recorded (no NaN), gripper (N,) readings
    0 (open) .. closed, size (width, height) px. Where the object is picked and placed comes from
    the tool centre point when the gripper closes and opens."""
    points, tool = chain(joints)
    tip = points[:, -1]
    first, end = _hold(gripper, closed)
    kind, rgb, fixture = TASK_OBJECTS[task_index % len(TASK_OBJECTS)]
    half = _SIZE[kind]
    pick, place = tip[min(first, len(tip) - 1)], tip[max(min(end, len(tip)) - 1, 0)]
    table_z = float(min(pick[2], place[2]) - half[1] - 0.03)
    centres = np.empty_like(tip)
    centres[:first], centres[first:end], centres[end:] = pick, tip[first:end], place
    body = np.array(rgb, dtype=np.float64)
    things = [
        Thing(
            f"{kind.upper()}_0001", kind, half, float(rng.uniform(0, np.pi)), _thing_colors(body, 0), centres
        )
    ]
    taken = [pick, place, np.array([0.0, 0.0])]
    palette = [c for c in _DISTRACTOR_COLOURS]
    for k in range(1, 1 + int(rng.integers(2, 4))):
        other = ("cube", "cylinder", "mug")[int(rng.integers(3))]
        h = _SIZE[other]
        xy = _spot(rng, taken)
        taken.append(xy)
        color = np.array(palette.pop(int(rng.integers(len(palette)))), dtype=np.float64)
        at = np.array([xy[0], xy[1], table_z + h[1]])
        things.append(
            Thing(
                f"{other.upper()}_{k + 1:04d}",
                other,
                h,
                float(rng.uniform(0, np.pi)),
                _thing_colors(color, k),
                np.broadcast_to(at, tip.shape),
            )
        )
    cams = {c: make_camera(c, size[0], size[1], table_z) for c in cameras}
    backgrounds, tables = {}, {}
    for name, cam in cams.items():
        backgrounds[name], tables[name] = make_background(
            rng, cam, table_z, (fixture, place, float(place[2] - half[1])), (pick, float(pick[2] - half[1]))
        )
    opening = _FINGER_GAP - (_FINGER_GAP - 2 * half[0]) * np.clip(gripper / closed, 0.0, 1.0)
    points = keypoints(points, tool, opening)
    return Workspace(cams, backgrounds, tables, table_z, points, opening, tuple(things), (first, end))


def _thing_colors(body: np.ndarray, index: int) -> np.ndarray:
    return residue(np.stack([body * 0.8, np.minimum(body * 1.1 + 15, 255), body * 0.35]), 2 * index + 1, 8)


def keypoints(points: np.ndarray, tool: np.ndarray, opening: np.ndarray) -> np.ndarray:
    """(N, 16, 3) m: the chain's points (N, 9, 3), palm, palm bar ends and finger roots and tips,
    from the hand rotations (N, 3, 3) and the finger gap (N,) m."""
    tip, y_axis, z_axis = points[:, -1], tool[:, :, 1], tool[:, :, 2]
    palm = tip - PALM * z_axis
    half = (0.5 * opening)[:, None] * y_axis
    extra = [palm, palm - 0.055 * y_axis, palm + 0.055 * y_axis]
    extra += [palm - half, tip - half + 0.008 * z_axis, palm + half, tip + half + 0.008 * z_axis]
    return np.concatenate([points, np.stack(extra, axis=1)], axis=1)
