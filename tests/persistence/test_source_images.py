"""Compressed frames decode with Pillow's plugins even where Image.open is replaced (Ultralytics)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from persistence.episode_sources.images import ImageDecodeError, decode_rgb, open_image


def _encoded(fmt: str, mode: str = "RGB") -> tuple[bytes, np.ndarray]:
    pixels = (np.arange(12 * 16 * 3) % 251).astype(np.uint8).reshape(12, 16, 3)
    image = Image.fromarray(pixels).convert(mode)
    out = io.BytesIO()
    image.save(out, format=fmt, quality=100) if fmt == "JPEG" else image.save(out, format=fmt)
    return out.getvalue(), np.asarray(image.convert("RGB"))


def test_decodes_without_image_open(monkeypatch):
    def replaced(*args, **kwargs):  # what Ultralytics' patch does on unknown bytes, offline
        raise ModuleNotFoundError("No module named 'pi_heif'")

    monkeypatch.setattr(Image, "open", replaced)
    png, expected = _encoded("PNG")
    assert np.array_equal(decode_rgb(png), expected)
    gray, expected_gray = _encoded("PNG", "L")
    assert np.array_equal(decode_rgb(gray), expected_gray) and decode_rgb(gray).shape == (12, 16, 3)
    jpeg, expected_jpeg = _encoded("JPEG")
    assert np.abs(decode_rgb(jpeg, ("JPEG",)).astype(int) - expected_jpeg).mean() < 3
    assert open_image(jpeg).size == (16, 12)

    with pytest.raises(ImageDecodeError, match="not a JPEG image"):
        decode_rgb(png, ("JPEG",))
    with pytest.raises(ImageDecodeError, match="not a JPEG or PNG image"):
        decode_rgb(b"GIF89a not an image")
    with pytest.raises(ImageDecodeError):
        decode_rgb(jpeg[: len(jpeg) // 2], ("JPEG",))
