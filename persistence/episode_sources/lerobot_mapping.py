"""The field mapping a LeRobot scan reports: one entry per info.json feature (mapped to a standard name,
a camera, or unmapped with the reason), per parquet column info.json does not declare, and per field of
the metadata files (given by each layout's scanner). Nothing found is left out.
"""

from __future__ import annotations

from persistence.episode_sources.base import TASK_INDEX, FieldMapping
from persistence.episode_sources.lerobot_meta import Layout

BOOKKEEPING = {
    "episode_index": "bookkeeping: selects the episode's rows (checked against meta/episodes)",
    "frame_index": "bookkeeping: the frame's position in its episode (frames are served in row order)",
    "index": "bookkeeping: the frame's position in the whole dataset",
}


def field_mapping(
    layout: Layout, parquet_columns: list[str], extra: list[FieldMapping]
) -> list[FieldMapping]:
    """One FieldMapping per feature of info.json, per parquet column it does not declare, plus `extra`
    (the metadata files' own fields, given by the version's scanner)."""
    by_key = {key: target for target, key in layout.columns.items()}
    cameras = {camera.key: camera for camera in layout.cameras.values()}
    out: list[FieldMapping] = []
    for key, feature in layout.features.items():
        shape = [int(s) for s in feature.get("shape") or []] or None
        dtype = str(feature["dtype"])
        if key in cameras:
            cam = cameras[key]
            note = (
                f"{cam.codec or 'video'} video in videos/{key}/: frame nearest from_timestamp + timestamp"
                if cam.kind == "video"
                else "PNG bytes in the parquet rows, decoded to RGB"
            )
            out.append(FieldMapping(key, f"camera:{cam.name}", shape, dtype, note))
        elif key in by_key:
            target = by_key[key]
            note = {
                "timestamp": "seconds, as float64 counted from the episode's first frame",
                "observation.state": "joint names from features.names" if layout.joint_names else "",
                TASK_INDEX: "per frame; task strings from the tasks table",
            }.get(target, "")
            out.append(FieldMapping(key, target, shape, dtype, note))
        elif key in BOOKKEEPING:
            out.append(FieldMapping(key, None, shape, dtype, BOOKKEEPING[key]))
        elif dtype in ("video", "image"):
            out.append(FieldMapping(key, None, shape, dtype, "depth map: not an RGB camera"))
        else:
            why = "joint effort has no standard name" if "effort" in key else "no standard name"
            out.append(FieldMapping(key, None, shape, dtype, why))
        if key == layout.columns.get("observation.state") and layout.gripper_columns:
            names = ", ".join(layout.joint_names[i] for i in layout.gripper_columns)
            out.append(
                FieldMapping(
                    f"{key}[{','.join(map(str, layout.gripper_columns))}]",
                    "observation.gripper",
                    [len(layout.gripper_columns)] if len(layout.gripper_columns) > 1 else None,
                    dtype,
                    f"the state elements named {names}",
                )
            )
    for column in parquet_columns:
        if column not in layout.features:
            out.append(
                FieldMapping(column, None, None, None, "in the data files, not declared in meta/info.json")
            )
    return out + extra
