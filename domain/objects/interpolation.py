"""Pure computation: filling a track's frames between keyframes, as CVAT does (linear in the box)."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass


@dataclass(frozen=True)
class Keyframe:
    frame: int
    x: float
    y: float
    width: float
    height: float
    outside: bool = False  # the object left the view here: no box until the next keyframe


@dataclass(frozen=True)
class FilledBox:
    frame: int
    x: float
    y: float
    width: float
    height: float
    after: int  # the keyframe it was interpolated from (its attributes are copied)


def interpolate(keyframes: list[Keyframe], occupied: AbstractSet[int] = frozenset()) -> list[FilledBox]:
    """Boxes for every frame strictly between consecutive keyframes that are not `occupied`.

    A gap that starts at an `outside` keyframe stays empty: the object is out of view there.
    """
    ordered = sorted(keyframes, key=lambda k: k.frame)
    filled: list[FilledBox] = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.outside or b.frame - a.frame < 2:
            continue
        span = b.frame - a.frame
        for frame in range(a.frame + 1, b.frame):
            if frame in occupied:
                continue
            t = (frame - a.frame) / span
            filled.append(
                FilledBox(
                    frame=frame,
                    x=a.x + (b.x - a.x) * t,
                    y=a.y + (b.y - a.y) * t,
                    width=a.width + (b.width - a.width) * t,
                    height=a.height + (b.height - a.height) * t,
                    after=a.frame,
                )
            )
    return filled
