"""The rules a label's name and colour follow, for box labels (domain/objects/labels.py) and segment
labels (domain/segments/vocabulary.py) alike: here because domain.objects imports domain.annotations,
which imports domain.segments (domain has no import cycles)."""

from __future__ import annotations

import re
import zlib

from domain.core.errors import REQUEST, BadUserInput, check_text, inside

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
NAME = re.compile(r"^[^\s/\\][^/\\]{0,99}$")
# Distinct on dark and light frames; a label without a colour gets one by its name.
PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#ffe119",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#46f0f0",
    "#f032e6",
    "#bcf60c",
    "#fabebe",
    "#008080",
    "#e6beff",
    "#9a6324",
    "#800000",
    "#aaffc3",
    "#000075",
)


def default_color(name: str) -> str:
    return PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]


def check_label(name: str, color: str | None, field: str = REQUEST) -> tuple[str, str]:
    """The name (stripped) and colour (lower case, a default for none) of a label; errors name
    `field`.name and `field`.color."""
    name = check_text(name, inside(field, "name"), max_length=100)
    if not NAME.match(name):
        raise BadUserInput(
            f"{inside(field, 'name')} must not contain slashes, got {name!r}", field=inside(field, "name")
        )
    if color is None:
        return name, default_color(name)
    if not COLOR.match(color):
        raise BadUserInput(
            f"{inside(field, 'color')} must look like #rrggbb, got {color!r}", field=inside(field, "color")
        )
    return name, color.lower()
