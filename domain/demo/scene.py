"""Pure numpy street scene behind the robot: pedestrians and cyclists crossing a plaza.

World: ground plane (x, z) in metres. Actors move in straight lines at constant speed; the
cameras are level pinholes at fixed poses. Actors are flat shapes (capsules, disks, elliptic
rings) painted far-to-near, so nearer actors occlude farther ones.

Ground truth comes from the very masks that are painted: a box is the tight bounds of an
actor's pixels inside the image (x, y top-left; x + width <= image width); `truncated` means
some of its pixels fall outside the image; `occluded` means more than 30 % of its in-image
pixels are painted over by nearer actors. An actor with no pixel in the image has no box.
Background red values are even and actor red values odd, so every painted pixel differs
from the background beneath it and boxes can be checked against the pixels exactly.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

NEAR = 1.0  # m: closer than this an actor is not drawn (paths keep it outside the view there)
MOUNT = 1.5  # camera height, m
HFOV = np.radians(62.0)
OCCLUDED = 0.3
_PLAZA_CENTER = (0.0, 9.0)
_POSES = {"front": (0.0, 0.0, 0.0), "side": (12.0, 9.0, -np.pi / 2)}  # x, z, yaw
_SKIN = np.array([[241, 194, 160], [224, 172, 130], [198, 134, 92], [141, 85, 54], [92, 58, 40]])


@dataclass(frozen=True)
class Camera:
    name: str
    x: float
    z: float
    yaw: float  # optical axis direction (sin yaw, cos yaw) in (x, z)
    width: int
    height: int

    @property
    def focal(self) -> float:
        return 0.5 * self.width / np.tan(HFOV / 2)


@dataclass(frozen=True)
class Actor:
    track_id: str
    label: str  # "pedestrian" | "cyclist"
    origin: tuple[float, float]  # (x, z) at time t_pass
    velocity: tuple[float, float]  # m/s
    t_pass: float  # s
    size: float  # m, overall height
    colors: np.ndarray  # (k, 3) uint8, red odd
    phase: float

    def position(self, t: float) -> tuple[float, float]:
        dt = t - self.t_pass
        return self.origin[0] + self.velocity[0] * dt, self.origin[1] + self.velocity[1] * dt


@dataclass(frozen=True)
class Scene:
    actors: tuple[Actor, ...]
    cameras: dict[str, Camera]
    backgrounds: dict[str, np.ndarray]  # (H, W, 3) uint8, red even


def make_camera(name: str, width: int, height: int) -> Camera:
    if name in _POSES:
        x, z, yaw = _POSES[name]
    else:  # any other name: a stable spot on a circle around the plaza, looking at its centre
        angle = (zlib.crc32(name.encode()) % 3600) / 3600 * 2 * np.pi
        x, z = _PLAZA_CENTER[0] + 13 * np.sin(angle), _PLAZA_CENTER[1] - 13 * np.cos(angle)
        yaw = float(np.arctan2(_PLAZA_CENTER[0] - x, _PLAZA_CENTER[1] - z))
    return Camera(name, float(x), float(z), float(yaw), width, height)


def horizon(camera: Camera) -> float:
    return 0.42 * camera.height


def make_background(rng: np.random.Generator, camera: Camera) -> np.ndarray:
    h, w, hz = camera.height, camera.width, int(horizon(camera))
    rows = np.arange(h)[:, None]
    sky_top, sky_low = rng.uniform([70, 110, 170], [110, 150, 210]), rng.uniform([170, 190, 215], [200, 215, 235])
    floor_far, floor_near = rng.uniform([120, 120, 125], [150, 150, 160]), rng.uniform([70, 70, 80], [100, 100, 110])
    up = np.clip(rows / max(hz, 1), 0, 1)
    down = np.clip((rows - hz) / max(h - hz, 1), 0, 1)
    col = np.where(rows < hz, sky_top + (sky_low - sky_top) * up, floor_far + (floor_near - floor_far) * down)
    img = np.broadcast_to(col[:, None, :], (h, w, 3)).copy()
    x = 0.0
    while x < w:  # a skyline of flat buildings standing on the horizon
        bw = rng.uniform(0.06, 0.2) * w
        top = int(hz - rng.uniform(0.05, 0.3) * h)
        img[max(top, 0) : hz, int(x) : int(x + bw)] = rng.uniform([120, 110, 100], [190, 175, 165])
        x += bw + rng.uniform(0, 0.05) * w
    for frac in (0.15, 0.45):  # painted lane lines on the floor
        r = int(hz + frac * (h - hz))
        img[r : r + max(1, h // 120)] = rng.uniform([180, 180, 170], [215, 210, 200])
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    img[..., 0] &= 0xFE
    return img


def _colors(rng: np.random.Generator, n: int) -> np.ndarray:
    c = rng.integers(20, 236, size=(n, 3)).astype(np.uint8)
    c[0] = _SKIN[rng.integers(len(_SKIN))]
    c[:, 0] |= 1
    return c


def _path_ok(origin: np.ndarray, heading: np.ndarray, cameras: list[Camera]) -> bool:
    """The straight path keeps 3.5 m away from every camera, so it never walks into a lens."""
    for cam in cameras:
        rel = np.array([cam.x, cam.z]) - origin
        if abs(rel[0] * heading[1] - rel[1] * heading[0]) < 3.5:
            return False
    return True


def make_scene(rng: np.random.Generator, cameras: list[Camera], duration: float) -> Scene:
    """Actors spread over time; the first crosses near the plaza centre mid-episode (always seen)."""
    actors, count = [], 3 + int(duration * 0.5) + int(rng.integers(0, 3))
    for i in range(count):
        cyclist = i > 0 and rng.random() < 0.4
        speed = rng.uniform(3.0, 5.5) if cyclist else rng.uniform(0.9, 1.7)
        while True:
            if i == 0:
                origin = np.array(_PLAZA_CENTER) + rng.uniform(-2, 2, size=2)
            else:
                origin = np.array([rng.uniform(-6, 6), rng.uniform(4, 14)])
            angle = rng.uniform(0, 2 * np.pi)
            heading = np.array([np.sin(angle), np.cos(angle)])
            if _path_ok(origin, heading, cameras):
                break
        t_pass = rng.uniform(0.3, 0.7) * duration if i == 0 else rng.uniform(-4, duration + 4)
        actors.append(
            Actor(
                track_id=f"{'CYC' if cyclist else 'PED'}_{i + 1:04d}",
                label="cyclist" if cyclist else "pedestrian",
                origin=(float(origin[0]), float(origin[1])),
                velocity=(float(heading[0] * speed), float(heading[1] * speed)),
                t_pass=float(t_pass),
                size=float(rng.uniform(1.6, 1.8) if cyclist else rng.uniform(1.55, 1.9)),
                colors=_colors(rng, 5),
                phase=float(rng.uniform(0, 2 * np.pi)),
            )
        )
    backgrounds = {c.name: make_background(rng, c) for c in cameras}
    return Scene(tuple(actors), {c.name: c for c in cameras}, backgrounds)


# Shapes are (kind, colour index, *params) in pixel coordinates; pixel (r, c) has centre (c+.5, r+.5).
def _shape_bounds(shape: tuple) -> tuple[float, float, float, float]:
    kind, _, *p = shape
    if kind == "disk":
        return p[0] - p[2], p[1] - p[2], p[0] + p[2], p[1] + p[2]
    if kind == "ring":
        return p[0] - p[2], p[1] - p[3], p[0] + p[2], p[1] + p[3]
    r = p[4] / 2
    return min(p[0], p[2]) - r, min(p[1], p[3]) - r, max(p[0], p[2]) + r, max(p[1], p[3]) + r


def _shape_mask(shape: tuple, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    kind, _, *p = shape
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    if kind == "disk":
        return (xs - p[0]) ** 2 + (ys - p[1]) ** 2 <= p[2] ** 2
    if kind == "ring":
        e = ((xs - p[0]) / p[2]) ** 2 + ((ys - p[1]) / p[3]) ** 2
        return (e <= 1.0) & (e >= (1.0 - p[4]) ** 2)
    dx, dy = p[2] - p[0], p[3] - p[1]
    t = np.clip(((xs - p[0]) * dx + (ys - p[1]) * dy) / max(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
    return (xs - p[0] - t * dx) ** 2 + (ys - p[1] - t * dy) ** 2 <= (p[4] / 2) ** 2


def _shapes(actor: Actor, cam: Camera, t: float) -> tuple[float, list[tuple]] | None:
    """Depth and shapes of the actor at time t, or None when it is behind or beside the lens."""
    x, z = actor.position(t)
    s, c = np.sin(cam.yaw), np.cos(cam.yaw)
    depth = (x - cam.x) * s + (z - cam.z) * c
    if depth < NEAR:
        return None
    f = cam.focal
    u = cam.width / 2 + f * ((x - cam.x) * c - (z - cam.z) * s) / depth
    vf = horizon(cam) + f * MOUNT / depth  # where the feet (or tyres) touch the floor
    hp = f * actor.size / depth
    speed = np.hypot(*actor.velocity)
    side_on = (actor.velocity[0] * c - actor.velocity[1] * s) / speed  # signed, +1 moving right
    face, k = (1.0 if side_on >= 0 else -1.0), abs(side_on)
    if actor.label == "pedestrian":
        swing = np.sin(actor.phase + 2 * np.pi * speed / 1.5 * t) * max(k, 0.2)
        hip, shoulder = (u, vf - 0.48 * hp), (u, vf - 0.76 * hp)
        legs = [("seg", 2, *hip, u + sg * swing * 0.14 * hp, vf - 0.035 * hp, 0.075 * hp) for sg in (-1, 1)]
        arms = [("seg", 1, *shoulder, u - sg * swing * 0.12 * hp, vf - 0.5 * hp, 0.06 * hp) for sg in (-1, 1)]
        torso = ("seg", 1, u, vf - 0.79 * hp, u, vf - 0.52 * hp, 0.2 * hp)
        head = ("disk", 0, u + 0.01 * hp * face, vf - 0.915 * hp, 0.075 * hp)
        return depth, [legs[0], arms[0], torso, legs[1], arms[1], head]
    r, wb = 0.2 * hp, 0.62 * hp * max(k, 0.3)
    rear, front = (u - face * wb / 2, vf - r), (u + face * wb / 2, vf - r)
    bb, seat = (u - face * 0.05 * wb, vf - 1.05 * r), (u - face * 0.18 * wb, vf - 0.52 * hp)
    bar, shoulder = (u + face * 0.38 * wb, vf - 0.58 * hp), (u + face * 0.12 * wb, vf - 0.8 * hp)
    crank = actor.phase + 2 * np.pi * speed / 2.1 * t
    pedal = (bb[0] + face * 0.09 * hp * np.cos(crank) * max(k, 0.3), bb[1] + 0.09 * hp * np.sin(crank))
    tube = 0.035 * hp
    return depth, [
        ("ring", 4, *rear, max(r * k, 0.3 * r), r, 0.22),
        ("ring", 4, *front, max(r * k, 0.3 * r), r, 0.22),
        *[("seg", 3, *a, *b, tube) for a, b in ((rear, bb), (rear, seat), (bb, seat), (bb, bar), (bar, front))],
        ("seg", 2, *seat, *pedal, 0.07 * hp),
        ("seg", 1, *seat, *shoulder, 0.15 * hp),
        ("seg", 1, *shoulder, *bar, 0.05 * hp),
        ("disk", 0, shoulder[0] + face * 0.04 * hp * k, vf - 0.92 * hp, 0.07 * hp),
    ]


@dataclass
class _Sprite:
    actor: Actor
    depth: float
    x0: int
    y0: int
    mask: np.ndarray  # in-image pixels of the actor, from (y0, x0)
    color: np.ndarray
    truncated: bool


def _sprite(actor: Actor, cam: Camera, t: float) -> _Sprite | None:
    drawn = _shapes(actor, cam, t)
    if drawn is None:
        return None
    depth, shapes = drawn
    bounds = [_shape_bounds(s) for s in shapes]
    lo_x, lo_y = int(np.floor(min(b[0] for b in bounds))), int(np.floor(min(b[1] for b in bounds)))
    hi_x, hi_y = int(np.ceil(max(b[2] for b in bounds))), int(np.ceil(max(b[3] for b in bounds)))
    x0, y0, x1, y1 = max(lo_x, 0), max(lo_y, 0), min(hi_x, cam.width), min(hi_y, cam.height)
    if x0 >= x1 or y0 >= y1:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    color = np.zeros((y1 - y0, x1 - x0, 3), dtype=np.uint8)
    truncated = False
    for shape, (bx0, by0, bx1, by1) in zip(shapes, bounds, strict=True):
        sx0, sy0, sx1, sy1 = int(np.floor(bx0)), int(np.floor(by0)), int(np.ceil(bx1)), int(np.ceil(by1))
        m = _shape_mask(shape, sx0, sy0, sx1, sy1)
        cx0, cy0, cx1, cy1 = max(sx0, x0), max(sy0, y0), min(sx1, x1), min(sy1, y1)
        inside = m[cy0 - sy0 : cy1 - sy0, cx0 - sx0 : cx1 - sx0] if cx0 < cx1 and cy0 < cy1 else m[:0, :0]
        if inside.sum() != m.sum():
            truncated = True
        if inside.size:
            mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] |= inside
            color[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0][inside] = actor.colors[shape[1]]
    if not mask.any():
        return None
    return _Sprite(actor, depth, x0, y0, mask, color, truncated)


def render(scene: Scene, camera: str, t: float, frame: int, paint: bool = True) -> tuple[np.ndarray | None, list]:
    """The image at time t (None unless paint) and the boxes of every actor drawn in it."""
    cam, bg = scene.cameras[camera], scene.backgrounds[camera]
    sprites = [s for a in scene.actors if (s := _sprite(a, cam, t)) is not None]
    sprites.sort(key=lambda s: -s.depth)  # far first: nearer actors paint over them
    owner = np.full((cam.height, cam.width), -1, dtype=np.int16)
    image = bg.copy() if paint else None
    for i, s in enumerate(sprites):
        win = (slice(s.y0, s.y0 + s.mask.shape[0]), slice(s.x0, s.x0 + s.mask.shape[1]))
        owner[win][s.mask] = i
        if image is not None:
            image[win][s.mask] = s.color[s.mask]
    boxes = []
    for i, s in enumerate(sprites):
        win = (slice(s.y0, s.y0 + s.mask.shape[0]), slice(s.x0, s.x0 + s.mask.shape[1]))
        hidden = np.count_nonzero(owner[win][s.mask] != i)
        rows, cols = np.flatnonzero(s.mask.any(axis=1)), np.flatnonzero(s.mask.any(axis=0))
        boxes.append(
            {
                "frame": frame,
                "track_id": s.actor.track_id,
                "label": s.actor.label,
                "x": float(s.x0 + cols[0]),
                "y": float(s.y0 + rows[0]),
                "width": float(cols[-1] - cols[0] + 1),
                "height": float(rows[-1] - rows[0] + 1),
                "truncated": s.truncated,
                "occluded": bool(hidden > OCCLUDED * np.count_nonzero(s.mask)),
            }
        )
    boxes.sort(key=lambda b: b["track_id"])
    return image, boxes
