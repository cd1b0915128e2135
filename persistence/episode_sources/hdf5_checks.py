"""Structural checks shared by the HDF5-based formats (ALOHA, robomimic): open a file, fetch a dataset
of an expected shape, fetch a typed attribute, and list everything a file holds for the mapping. Every
failure is a SourceError naming the file (`shown`, as the scan reports it) and the HDF5 path inside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from persistence.episode_sources.base import SourceError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# h5py's errors for damaged files and data: a truncated file, a bad chunk, a dangling link.
READ_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError)


def has_signature(path: Path) -> bool:
    """Whether `path` is a file starting with the HDF5 signature (files written with a user block, which
    moves the signature to byte 512 or later, are not recognised: h5py's writers never add one)."""
    try:
        with path.open("rb") as handle:
            return handle.read(8) == HDF5_SIGNATURE
    except OSError:
        return False


def open_file(path: Path, shown: Path | str, cache_bytes: int = 1 << 20) -> h5py.File:
    """Open read-only; `cache_bytes` sizes h5py's chunk cache (compressed image chunks read frame by frame
    should stay cached). A file that is not HDF5 or is truncated is a SourceError for the whole file."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise SourceError(shown, f"cannot be read ({exc})") from None
    if head != HDF5_SIGNATURE:
        raise SourceError(shown, "not an HDF5 file (no HDF5 signature at its start)")
    try:
        return h5py.File(path, "r", rdcc_nbytes=cache_bytes)
    except READ_ERRORS as exc:
        raise SourceError(shown, f"unreadable or truncated HDF5 file ({exc})") from None


@contextmanager
def closed_on_failure(file: h5py.File, path: Path | str) -> Iterator[None]:
    """Close `file` when opening an episode on it fails; a read error becomes a SourceError naming it."""
    try:
        yield
    except READ_ERRORS as exc:
        file.close()
        raise SourceError(path, f"unreadable or truncated HDF5 file ({exc})") from None
    except BaseException:
        file.close()
        raise


def where(node: h5py.Group | h5py.Dataset, name: str = "") -> str:
    """The absolute HDF5 path of `name` under `node` ("/observations/qpos")."""
    base = node.name.rstrip("/")
    return f"{base}/{name}" if name else (base or "/")


def attr_where(node: h5py.Group | h5py.Dataset, name: str) -> str:
    """How an attribute is named in errors and mappings: "/data.attrs[env_args]", "/.attrs[sim]"."""
    return f"{node.name}.attrs[{name}]"


def child(group: h5py.Group, name: str, shown: Path | str) -> h5py.Group | h5py.Dataset | None:
    """The member `name` of `group`, None when absent; a dangling link is a SourceError."""
    try:
        if name not in group:
            return None
        return group[name]
    except READ_ERRORS as exc:
        raise SourceError(shown, f"cannot be opened ({exc})", where(group, name)) from None


def subgroup(group: h5py.Group, name: str, shown: Path | str) -> h5py.Group | None:
    """The subgroup `name`, None when absent; a dataset there is a SourceError."""
    node = child(group, name, shown)
    if node is not None and not isinstance(node, h5py.Group):
        raise SourceError(shown, f"a dataset {node.shape} where a group belongs", where(group, name))
    return node


def array(
    group: h5py.Group,
    name: str,
    shown: Path | str,
    ndims: tuple[int, ...] = (2,),
    rows: int | None = None,
    numeric: bool = True,
) -> h5py.Dataset | None:
    """The dataset `name` (None when absent), checked to have one of `ndims` dimensions, a numeric or
    boolean dtype when `numeric`, and exactly `rows` rows when given (a group, a scalar, a string
    array or a wrong row count are SourceErrors)."""
    node = child(group, name, shown)
    if node is None:
        return None
    path = where(group, name)
    if not isinstance(node, h5py.Dataset):
        raise SourceError(shown, "a group where an array belongs", path)
    if node.ndim not in ndims:
        wanted = " or ".join(f"{d}-dimensional" for d in ndims)
        raise SourceError(shown, f"must be {wanted} (N rows first), found shape {node.shape}", path)
    if numeric and node.dtype.kind not in "biuf":
        raise SourceError(shown, f"must hold numbers, found dtype {node.dtype}", path)
    if rows is not None and node.shape[0] != rows:
        raise SourceError(shown, f"has {node.shape[0]} rows, the episode has {rows} frames", path)
    return node


def int_attr(node: h5py.Group | h5py.Dataset, name: str, shown: Path | str) -> int | None:
    """A non-negative integer attribute (a scalar or a one-element array), None when absent."""
    if name not in node.attrs:
        return None
    value = np.asarray(node.attrs[name])
    if value.size != 1 or value.dtype.kind not in "iu" or int(value.reshape(-1)[0]) < 0:
        raise SourceError(
            shown, f"must be a non-negative integer, found {_show(node.attrs[name])}", attr_where(node, name)
        )
    return int(value.reshape(-1)[0])


def bool_attr(node: h5py.Group | h5py.Dataset, name: str, shown: Path | str) -> bool | None:
    """A boolean attribute (numpy bool, or the integers 0/1 some writers store), None when absent."""
    if name not in node.attrs:
        return None
    value = np.asarray(node.attrs[name])
    if value.size == 1 and value.dtype.kind in "biu" and int(value.reshape(-1)[0]) in (0, 1):
        return bool(value.reshape(-1)[0])
    raise SourceError(shown, f"must be a boolean, found {_show(node.attrs[name])}", attr_where(node, name))


def str_attr(node: h5py.Group | h5py.Dataset, name: str, shown: Path | str) -> str | None:
    """A string attribute (variable- or fixed-length, UTF-8), None when absent."""
    if name not in node.attrs:
        return None
    value = node.attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes | np.bytes_):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError(shown, "must be UTF-8 text", attr_where(node, name)) from None
    if not isinstance(value, str):
        raise SourceError(shown, f"must be a string, found {_show(value)}", attr_where(node, name))
    return value


def json_attr(node: h5py.Group | h5py.Dataset, name: str, shown: Path | str) -> dict | None:
    """A string attribute holding a JSON object, None when absent."""
    text = str_attr(node, name, shown)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            shown, f"must be a JSON object, cannot parse it ({exc})", attr_where(node, name)
        ) from None
    if not isinstance(value, dict):
        raise SourceError(
            shown, f"must be a JSON object, found {type(value).__name__}", attr_where(node, name)
        )
    return value


def _show(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def walk(node: h5py.Group | h5py.Dataset) -> Iterator[tuple[str, h5py.Group | h5py.Dataset]]:
    """`node` and every group and dataset under it, by absolute path, in name order. Metadata only:
    h5py's visititems reads link tables, never data."""
    found: list[tuple[str, h5py.Group | h5py.Dataset]] = [(node.name, node)]
    if isinstance(node, h5py.Group):
        node.visititems(lambda name, item: found.append((where(node, name), item)))
    yield from found


def attr_description(value: object) -> tuple[list[int] | None, str]:
    """(shape, dtype) of an attribute value for a FieldMapping."""
    array_value = np.asarray(value)
    if isinstance(value, str):
        return None, "str"
    return list(array_value.shape) or None, str(array_value.dtype)


def timestamps(selection: slice, length: int, fps: float) -> np.ndarray:
    """Seconds of the frames `selection` picks out of `length`, frame i at i / fps (float64)."""
    return np.arange(*selection.indices(length), dtype=np.float64) / fps


def read_rows(dataset: h5py.Dataset, selection: slice, length: int, shown: Path | str) -> np.ndarray:
    """The rows `selection` picks out of the first `length` rows; a read failure is a SourceError."""
    start, stop, step = selection.indices(length)
    try:
        # h5py slices only forwards: a backwards selection reads the rows and reverses them here.
        return dataset[start:stop:step] if step > 0 else dataset[:length][selection]
    except READ_ERRORS as exc:
        raise SourceError(shown, f"cannot be read ({exc})", dataset.name) from None
