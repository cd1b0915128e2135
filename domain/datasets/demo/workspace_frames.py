"""One frame of the workspace scene (workspace.py): the arm, gripper and objects painted over the
static background, far-to-near, and the true boxes of the objects and the gripper.

The box, truncated and occluded conventions are scene.py's, computed the same way from the very
masks painted (see workspace.py for the colour residues that make them checkable from pixels).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from domain.datasets.demo.scene import OCCLUDED, shape_bounds, shape_mask
from domain.datasets.demo.workspace import (
    ARM_RGB,
    FINGER,
    GRIPPER_RGB,
    LINK_WIDTH,
    NEAR,
    Camera,
    Thing,
    Workspace,
    paint,
    residue,
    thing_shapes,
)

_ARM_COLOR = residue(ARM_RGB, 2, 8)
_GRIPPER_COLOR = residue(GRIPPER_RGB, 6, 8)


@dataclass
class _Sprite:
    track_id: str | None  # None: arm links (painted, never boxed)
    label: str
    depth: float
    x0: int
    y0: int
    mask: np.ndarray  # its pixels inside the image, from (y0, x0)
    color: np.ndarray  # (h, w, 3) uint8
    extent: tuple[int, int, int, int]  # x0, y0, x1, y1 of all its pixels, in or out of the image


def _sprite(
    cam: Camera, shapes: list[tuple], palette: np.ndarray, depth: float, track_id, label
) -> _Sprite | None:
    if not shapes:
        return None
    bounds = np.array([shape_bounds(s) for s in shapes])
    (lx, ly), (hx, hy) = bounds[:, :2].min(axis=0), bounds[:, 2:].max(axis=0)
    if lx >= cam.width or ly >= cam.height or hx <= 0 or hy <= 0:
        return None
    full = np.zeros((hy - ly, hx - lx), dtype=bool)
    color = np.zeros((hy - ly, hx - lx, 3), dtype=np.uint8)
    for shape, (sx0, sy0, sx1, sy1) in zip(shapes, bounds, strict=True):
        m = shape_mask(shape, sx0, sy0, sx1, sy1)
        full[sy0 - ly : sy1 - ly, sx0 - lx : sx1 - lx] |= m
        color[sy0 - ly : sy1 - ly, sx0 - lx : sx1 - lx][m] = palette[shape[1]]
    x0, y0, x1, y1 = max(lx, 0), max(ly, 0), min(hx, cam.width), min(hy, cam.height)
    inside = (slice(y0 - ly, y1 - ly), slice(x0 - lx, x1 - lx))
    if not full[inside].any():
        return None
    rows, cols = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
    extent = (int(lx + cols[0]), int(ly + rows[0]), int(lx + cols[-1] + 1), int(ly + rows[-1] + 1))
    return _Sprite(track_id, label, depth, int(x0), int(y0), full[inside], color[inside], extent)


def _box(s: _Sprite, cam: Camera, frame: int, hidden: int) -> dict:
    rows, cols = np.flatnonzero(s.mask.any(axis=1)), np.flatnonzero(s.mask.any(axis=0))
    x0, y0 = s.x0 + cols[0], s.y0 + rows[0]
    x1, y1 = s.x0 + cols[-1] + 1, s.y0 + rows[-1] + 1
    cut = (s.extent[0] < 0, s.extent[1] < 0, s.extent[2] > cam.width, s.extent[3] > cam.height)
    x0, y0 = (0 if cut[0] else x0), (0 if cut[1] else y0)
    x1, y1 = (cam.width if cut[2] else x1), (cam.height if cut[3] else y1)
    box: dict[str, object] = {"frame": frame, "track_id": s.track_id, "label": s.label}
    box.update(x=float(x0), y=float(y0), width=float(x1 - x0), height=float(y1 - y0), truncated=any(cut))
    box["occluded"] = bool(hidden > OCCLUDED * np.count_nonzero(s.mask))
    return box


# Key points per frame (workspace.keypoints): 0-8 the chain (base .. tool centre point), 9 the palm,
# 10-11 the palm bar's ends, 12-13 and 14-15 the fingers' (root, tip).
_LINKS = [(i, i + 1) for i in range(7)] + [(7, 9)]
_GRIP = ((10, 11, 0.03), (12, 13, FINGER), (14, 15, FINGER))


def _projected(ws: Workspace, cam: Camera) -> np.ndarray:
    """(N, 16, 3) u, v, depth of every key point, projected once per camera."""
    key = (cam.name, "keypoints")
    if key not in ws.resting:
        ws.resting[key] = cam.project(ws.keypoints)
    return ws.resting[key]


def _seg(cam: Camera, pa: np.ndarray, pb: np.ndarray, width: float) -> tuple | None:
    if min(pa[2], pb[2]) < NEAR:
        return None
    return ("seg", 0, pa[0], pa[1], pb[0], pb[1], width * cam.focal / (0.5 * (pa[2] + pb[2])))


def _arm(ws: Workspace, cam: Camera, k: int, image: np.ndarray | None) -> list[_Sprite]:
    """The links above the table top as sprites; those below are painted now, under the table."""
    world, proj = ws.keypoints[k], _projected(ws, cam)[k]
    sprites = []
    for (i, j), width in zip(_LINKS, LINK_WIDTH, strict=True):
        a, b = world[i], world[j]
        if np.array_equal(a, b):
            continue
        pa, pb = proj[i], proj[j]
        if min(a[2], b[2]) < ws.table_z <= max(a[2], b[2]):  # crosses the table top: split there
            pm = cam.project(a + (b - a) * (ws.table_z - a[2]) / (b[2] - a[2]))
            (pa, pm_low), (pb, pm_high) = ((pa, pm), (pb, pm)) if a[2] < ws.table_z else ((pb, pm), (pa, pm))
            below, above = (pa, pm_low), (pm_high, pb)
        elif max(a[2], b[2]) < ws.table_z:
            below, above = (pa, pb), None
        else:
            below, above = None, (pa, pb)
        if below is not None and image is not None and (seg := _seg(cam, *below, width)) is not None:
            paint(image, [seg], [_ARM_COLOR], where=~ws.tables[cam.name])
        if above is not None and (seg := _seg(cam, *above, width)) is not None:
            depth = 0.5 * float(above[0][2] + above[1][2])
            sprite = _sprite(cam, [seg], _ARM_COLOR[None], depth, None, "arm")
            sprites.extend([sprite] if sprite else [])
    proj_grip = [g for i, j, w in _GRIP if (g := _seg(cam, proj[i], proj[j], w)) is not None]
    if len(proj_grip) == len(_GRIP):  # just before the held object: the fingers close over it
        depth = float(min(proj[7][2], proj[8][2], proj[9][2])) - 1e-3  # over the hand link too
        sprite = _sprite(cam, proj_grip, _GRIPPER_COLOR[None], depth, "GRIPPER_0001", "gripper")
        sprites.extend([sprite] if sprite else [])
    return sprites


def _thing_sprite(ws: Workspace, cam: Camera, thing: Thing, frame: int) -> _Sprite | None:
    """The object's sprite on this frame; one at rest is drawn once per place and camera."""
    centre = thing.centres[frame]
    key = (cam.name, thing.track_id, centre.tobytes())
    if key in ws.resting:
        return ws.resting[key]
    depth = float(cam.project(centre)[2])
    sprite = None
    if depth >= NEAR:
        shapes = thing_shapes(cam, thing, centre)
        sprite = _sprite(cam, shapes, thing.colors, depth, thing.track_id, thing.label)
    held = thing is ws.things[0] and ws.grasped[0] <= frame < ws.grasped[1]
    if not held:  # at rest: the same pixels on every frame until it is picked up
        ws.resting[key] = sprite
    return sprite


def render(ws: Workspace, camera: str, frame: int, paint: bool = True) -> tuple[np.ndarray | None, list]:
    """The image of frame `frame` (None unless paint) and the boxes of every object and the gripper
    drawn in it, sorted by track id."""
    cam = ws.cameras[camera]
    image = ws.backgrounds[camera].copy() if paint else None
    sprites = _arm(ws, cam, frame, image)
    for thing in ws.things:
        s = _thing_sprite(ws, cam, thing, frame)
        sprites.extend([s] if s else [])
    sprites.sort(key=lambda s: -s.depth)  # far first: nearer things paint over them
    owner = np.full((cam.height, cam.width), -1, dtype=np.int16)
    windows = [(slice(s.y0, s.y0 + s.mask.shape[0]), slice(s.x0, s.x0 + s.mask.shape[1])) for s in sprites]
    for i, (s, win) in enumerate(zip(sprites, windows, strict=True)):
        owner[win][s.mask] = i
        if image is not None:
            image[win][s.mask] = s.color[s.mask]
    boxes = [
        _box(s, cam, frame, int(np.count_nonzero(owner[win][s.mask] != i)))
        for i, (s, win) in enumerate(zip(sprites, windows, strict=True))
        if s.track_id is not None
    ]
    if image is not None:
        _sensor_noise(image, camera, frame)
    return image, sorted(boxes, key=lambda b: b["track_id"])


def _sensor_noise(image: np.ndarray, camera: str, frame: int) -> None:
    """Flip the green channel's lowest bit at random, seeded by camera and frame: a real sensor never
    repeats a frame exactly, so a still arm must not read as a frozen camera (QUALITY_REPORT). Red is
    left alone: its parity tells the painted pixels from the background."""
    rng = np.random.default_rng([zlib.crc32(camera.encode()), frame])
    image[..., 1] ^= rng.integers(0, 2, size=image.shape[:2], dtype=np.uint8)
