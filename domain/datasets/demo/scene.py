"""Pure numpy street scene behind the robot: pedestrians and cyclists crossing a plaza.

World: ground plane (x, z) in metres. Actors move in straight lines at constant speed; the
cameras are level pinholes at fixed poses. Actors are flat shapes (capsules, disks, elliptic
rings) painted far-to-near, so nearer actors occlude farther ones.

Ground truth comes from the very masks that are painted: a box is the tight bounds of the
actor's pixels inside the image (x, y top-left, integer pixels, x + width <= image width),
except that a side where the actor goes on beyond the image lies on that border; `truncated`
means the actor goes on beyond a border; `occluded` means more than 30 % of its pixels inside
the image are painted over by nearer actors (a pixel fraction, not a box overlap). An actor
with no pixel inside the image has no box.
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
_GROUND = (  # colour ranges: sky top, sky at the horizon, floor far, floor near
    ([70, 110, 170], [110, 150, 210]),
    ([170, 190, 215], [200, 215, 235]),
    ([120, 120, 125], [150, 150, 160]),
    ([70, 70, 80], [100, 100, 110]),
)
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

    @property
    def horizon(self) -> float:  # image row of the horizon (level camera, shifted principal point)
        return 0.42 * self.height


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


def make_background(rng: np.random.Generator, camera: Camera) -> np.ndarray:
    h, w, hz = camera.height, camera.width, int(camera.horizon)
    rows = np.arange(h)[:, None]
    sky_top, sky_low, floor_far, floor_near = (rng.uniform(lo, hi) for lo, hi in _GROUND)
    up = np.clip(rows / max(hz, 1), 0, 1)
    down = np.clip((rows - hz) / max(h - hz, 1), 0, 1)
    col = np.where(rows < hz, sky_top + (sky_low - sky_top) * up, floor_far + (floor_near - floor_far) * down)
    img = np.broadcast_to(col[:, None, :], (h, w, 3)).copy()
    x, p = 0.0, max(2, h // 40)
    while x < w:  # a skyline of flat buildings standing on the horizon, with rows of windows
        bw = rng.uniform(0.06, 0.2) * w
        wall = img[max(int(hz - rng.uniform(0.05, 0.3) * h), 0) : hz, int(x) : int(x + bw)]
        wall[:] = rng.uniform([120, 110, 100], [190, 175, 165])
        rr, cc = np.ogrid[: wall.shape[0], : wall.shape[1]]
        wall[(rr % (2 * p) >= p) & (cc % (2 * p) >= p) & (rr < wall.shape[0] - p)] = rng.uniform(60, 110, 3)
        x += bw + rng.uniform(0, 0.05) * w
    for frac in (0.15, 0.45):  # painted lane lines on the floor
        r = int(hz + frac * (h - hz))
        img[r : r + max(1, h // 120)] = rng.uniform([180, 180, 170], [215, 210, 200])
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    img[..., 0] &= 0xFE
    return img


def make_scene(rng: np.random.Generator, cameras: list[Camera], duration: float) -> Scene:
    """Actors spread over time; the first crosses near the plaza centre mid-episode (always seen)."""
    actors, count = [], 3 + int(duration * 0.5) + int(rng.integers(0, 3))
    for i in range(count):
        cyclist = i > 0 and rng.random() < 0.4
        speed = rng.uniform(3.0, 5.5) if cyclist else rng.uniform(0.9, 1.7)
        while True:  # a straight path kept 3.5 m from every camera never walks into a lens
            origin = np.array(_PLAZA_CENTER) + rng.uniform(-1, 1, size=2) * ((2, 2) if i == 0 else (6, 5))
            angle = rng.uniform(0, 2 * np.pi)
            heading = np.array([np.sin(angle), np.cos(angle)])
            rel = np.array([[c.x, c.z] for c in cameras]) - origin
            if np.all(np.abs(rel[:, 0] * heading[1] - rel[:, 1] * heading[0]) >= 3.5):
                break
        t_pass = rng.uniform(0.3, 0.7) * duration if i == 0 else rng.uniform(-4, duration + 4)
        colors = rng.integers(20, 236, size=(5, 3)).astype(np.uint8)  # skin, top, legs, frame, tyres
        colors[0] = _SKIN[rng.integers(len(_SKIN))]
        colors[:, 0] |= 1  # odd red: never equal to the background beneath
        actors.append(
            Actor(
                track_id=f"{'CYC' if cyclist else 'PED'}_{i + 1:04d}",
                label="cyclist" if cyclist else "pedestrian",
                origin=(float(origin[0]), float(origin[1])),
                velocity=(float(heading[0] * speed), float(heading[1] * speed)),
                t_pass=float(t_pass),
                size=float(rng.uniform(1.6, 1.8) if cyclist else rng.uniform(1.55, 1.9)),
                colors=colors,
                phase=float(rng.uniform(0, 2 * np.pi)),
            )
        )
    backgrounds = {c.name: make_background(rng, c) for c in cameras}
    return Scene(tuple(actors), {c.name: c for c in cameras}, backgrounds)


# Shapes are ("oval", colour, cx, cy, rx, ry, rim) with rim 1 for a filled ellipse, ("seg", colour,
# x0, y0, x1, y1, width) for a capsule, or ("poly", colour, vertices) for a convex polygon with its
# (k, 2) vertices counter-clockwise on screen (as convex_hull gives them), in pixels; pixel (r, c)
# has centre (c+.5, r+.5). The workspace scene paints the same shapes.
def shape_bounds(shape: tuple) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): integer pixel bounds holding every pixel the shape may cover."""
    kind, _, *p = shape
    if kind == "poly":
        lo, hi = p[0].min(axis=0), p[0].max(axis=0)
    elif kind == "oval":
        lo, hi = (p[0] - p[2], p[1] - p[3]), (p[0] + p[2], p[1] + p[3])
    else:
        lo = (min(p[0], p[2]) - p[4] / 2, min(p[1], p[3]) - p[4] / 2)
        hi = (max(p[0], p[2]) + p[4] / 2, max(p[1], p[3]) + p[4] / 2)
    return int(np.floor(lo[0])), int(np.floor(lo[1])), int(np.ceil(hi[0])), int(np.ceil(hi[1]))


def shape_mask(shape: tuple, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """(y1 - y0, x1 - x0) bool: the pixels of that window whose centres the shape covers."""
    kind, _, *p = shape
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    if kind == "poly":
        v = p[0]
        inside = np.ones((y1 - y0, x1 - x0), dtype=bool)
        for (ax, ay), (bx, by) in zip(v, np.roll(v, -1, axis=0), strict=True):
            inside &= (bx - ax) * (ys - ay) - (by - ay) * (xs - ax) >= 0
        return inside
    if kind == "oval":
        e = ((xs - p[0]) / p[2]) ** 2 + ((ys - p[1]) / p[3]) ** 2
        return (e <= 1.0) & (e >= (1.0 - p[4]) ** 2)
    dx, dy = p[2] - p[0], p[3] - p[1]
    t = np.clip(((xs - p[0]) * dx + (ys - p[1]) * dy) / max(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
    return (xs - p[0] - t * dx) ** 2 + (ys - p[1] - t * dy) ** 2 <= (p[4] / 2) ** 2


def convex_hull(points: np.ndarray) -> np.ndarray:
    """(k, 2) hull vertices of (n, 2) screen points, counter-clockwise on screen (y down), as
    shape_mask's "poly" wants them (Andrew's monotone chain)."""
    pts = sorted(map(tuple, np.asarray(points, dtype=np.float64).tolist()))

    def half(seq: list) -> list:
        out: list = []
        for p in seq:
            while (
                len(out) >= 2
                and (
                    (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                    - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
                )
                <= 0
            ):
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1], dtype=np.float32)


def _shapes(actor: Actor, cam: Camera, t: float) -> tuple[float, list[tuple]] | None:
    """Depth and shapes of the actor at time t, or None when it is behind or beside the lens."""
    x, z = actor.position(t)
    s, c = np.sin(cam.yaw), np.cos(cam.yaw)
    depth = (x - cam.x) * s + (z - cam.z) * c
    if depth < NEAR:
        return None
    f = cam.focal
    u = cam.width / 2 + f * ((x - cam.x) * c - (z - cam.z) * s) / depth
    vf = cam.horizon + f * MOUNT / depth  # where the feet (or tyres) touch the floor
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
        head = ("oval", 0, u + 0.01 * hp * face, vf - 0.915 * hp, 0.075 * hp, 0.075 * hp, 1.0)
        return depth, [legs[0], arms[0], torso, legs[1], arms[1], head]
    r, wb = 0.2 * hp, 0.62 * hp * max(k, 0.3)
    rear, front = (u - face * wb / 2, vf - r), (u + face * wb / 2, vf - r)
    bb, seat = (u - face * 0.05 * wb, vf - 1.05 * r), (u - face * 0.18 * wb, vf - 0.52 * hp)
    bar, shoulder = (u + face * 0.38 * wb, vf - 0.58 * hp), (u + face * 0.12 * wb, vf - 0.8 * hp)
    crank = actor.phase + 2 * np.pi * speed / 2.1 * t
    pedal = (bb[0] + face * 0.09 * hp * np.cos(crank) * max(k, 0.3), bb[1] + 0.09 * hp * np.sin(crank))
    tube = 0.035 * hp
    return depth, [
        ("oval", 4, *rear, max(r * k, 0.3 * r), r, 0.22),
        ("oval", 4, *front, max(r * k, 0.3 * r), r, 0.22),
        *[
            ("seg", 3, *a, *b, tube)
            for a, b in ((rear, bb), (rear, seat), (bb, seat), (bb, bar), (bar, front))
        ],
        ("seg", 2, *seat, *pedal, 0.07 * hp),
        ("seg", 1, *seat, *shoulder, 0.15 * hp),
        ("seg", 1, *shoulder, *bar, 0.05 * hp),
        ("oval", 0, shoulder[0] + face * 0.04 * hp * k, vf - 0.92 * hp, 0.07 * hp, 0.07 * hp, 1.0),
    ]


@dataclass
class _Sprite:
    actor: Actor
    depth: float
    x0: int
    y0: int
    mask: np.ndarray  # the actor's pixels inside the image, from (y0, x0)
    color: np.ndarray
    extent: tuple[int, int, int, int]  # x0, y0, x1, y1 of all its pixels, in or out of the image


def _sprite(actor: Actor, cam: Camera, t: float) -> _Sprite | None:
    drawn = _shapes(actor, cam, t)
    if drawn is None:
        return None
    depth, shapes = drawn
    bounds = np.array([shape_bounds(s) for s in shapes])
    (lx, ly), (hx, hy) = bounds[:, :2].min(axis=0), bounds[:, 2:].max(axis=0)
    if lx >= cam.width or ly >= cam.height or hx <= 0 or hy <= 0:
        return None
    full = np.zeros((hy - ly, hx - lx), dtype=bool)  # the whole actor, also what lies outside
    color = np.zeros((hy - ly, hx - lx, 3), dtype=np.uint8)
    for shape, (sx0, sy0, sx1, sy1) in zip(shapes, bounds, strict=True):
        m = shape_mask(shape, sx0, sy0, sx1, sy1)
        full[sy0 - ly : sy1 - ly, sx0 - lx : sx1 - lx] |= m
        color[sy0 - ly : sy1 - ly, sx0 - lx : sx1 - lx][m] = actor.colors[shape[1]]
    x0, y0, x1, y1 = max(lx, 0), max(ly, 0), min(hx, cam.width), min(hy, cam.height)
    inside = (slice(y0 - ly, y1 - ly), slice(x0 - lx, x1 - lx))
    if not full[inside].any():
        return None
    rows, cols = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
    extent = (int(lx + cols[0]), int(ly + rows[0]), int(lx + cols[-1] + 1), int(ly + rows[-1] + 1))
    return _Sprite(actor, depth, int(x0), int(y0), full[inside], color[inside], extent)


def _box(s: _Sprite, cam: Camera, frame: int, hidden: int) -> dict:
    rows, cols = np.flatnonzero(s.mask.any(axis=1)), np.flatnonzero(s.mask.any(axis=0))
    x0, y0 = s.x0 + cols[0], s.y0 + rows[0]
    x1, y1 = s.x0 + cols[-1] + 1, s.y0 + rows[-1] + 1
    cut = (s.extent[0] < 0, s.extent[1] < 0, s.extent[2] > cam.width, s.extent[3] > cam.height)
    # a side where the actor goes on beyond the image lies on the border (a gap may separate them)
    x0, y0 = (0 if cut[0] else x0), (0 if cut[1] else y0)
    x1, y1 = (cam.width if cut[2] else x1), (cam.height if cut[3] else y1)
    box = {"frame": frame, "track_id": s.actor.track_id, "label": s.actor.label}
    box.update(x=float(x0), y=float(y0), width=float(x1 - x0), height=float(y1 - y0), truncated=any(cut))
    box["occluded"] = bool(hidden > OCCLUDED * np.count_nonzero(s.mask))
    return box


def render(
    scene: Scene, camera: str, t: float, frame: int, paint: bool = True
) -> tuple[np.ndarray | None, list]:
    """The image at time t (None unless paint) and the boxes of every actor drawn in it."""
    cam = scene.cameras[camera]
    sprites = [s for a in scene.actors if (s := _sprite(a, cam, t)) is not None]
    sprites.sort(key=lambda s: -s.depth)  # far first: nearer actors paint over them
    owner = np.full((cam.height, cam.width), -1, dtype=np.int16)
    image = scene.backgrounds[camera].copy() if paint else None
    windows = [(slice(s.y0, s.y0 + s.mask.shape[0]), slice(s.x0, s.x0 + s.mask.shape[1])) for s in sprites]
    for i, (s, win) in enumerate(zip(sprites, windows, strict=True)):
        owner[win][s.mask] = i
        if image is not None:
            image[win][s.mask] = s.color[s.mask]
    boxes = [
        _box(s, cam, frame, int(np.count_nonzero(owner[win][s.mask] != i)))
        for i, (s, win) in enumerate(zip(sprites, windows, strict=True))
    ]
    return image, sorted(boxes, key=lambda b: b["track_id"])
