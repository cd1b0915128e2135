"""The demo datasets' label sets, and their generator's true boxes as validated ground truth.

Half of the episodes (the even ones) get their true boxes, so the other half is left to annotate.
The label set follows the `scene` info.json names (domain/datasets/demo/spec.py): the robot
workspace's objects, or the street's road users.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from domain.core.runtime import Runtime
from domain.datasets.demo.writer import episode_name
from domain.objects import labels
from domain.objects.boxes import Review, Source
from persistence.columns import utcnow
from persistence.engine import refresh_statistics
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import episode as episodes_repo
from persistence.repositories import object_annotation as boxes_repo

DEMO_LABELS = ("cube", "cylinder", "mug", "gripper")  # the robot set (scene "workspace")
STREET_LABELS = ("pedestrian", "cyclist", "motorcyclist", "wheelchair_user", "scooter_rider")
SCENE_LABELS = {"workspace": DEMO_LABELS, "street": STREET_LABELS}
CHUNK = 5000


def _read_truth(folder: Path, indexes: list[int]) -> tuple[str, dict[int, dict]]:
    """(scene named by info.json, "workspace" when it names none; ground-truth documents by index)."""
    info = folder / "info.json"
    scene = json.loads(info.read_text()).get("scene", "workspace") if info.exists() else "workspace"
    if scene not in SCENE_LABELS:
        raise ValueError(f"{info.name}: scene {scene!r} is not one of {', '.join(SCENE_LABELS)}")
    docs = {}
    for index in indexes:
        path = folder / "ground_truth" / episode_name(index, ".json")
        if path.exists():
            docs[index] = json.loads(path.read_text())
    return scene, docs


async def load_demo_truth(rt: Runtime, folder: Path) -> int:
    """Give the dataset registered from `folder` its scene's demo labels (SCENE_LABELS, then any other
    label its boxes use) and load the true boxes of its even episodes as validated ground truth;
    returns the number of boxes (0 when it has boxes already). LookupError when nothing is
    registered from `folder`, ValueError when info.json names an unknown scene."""
    # The check for boxes already there, the reads and the writes: one transaction.
    async with rt.sessions() as session, session.begin():
        dataset = await datasets_repo.read_dataset_by_path(session, str(folder.resolve()))
        if dataset is None:
            raise LookupError(f"no dataset is registered from {folder}")
        if (await boxes_repo.review_counts_by_datasets(session, [dataset.id]))[dataset.id]:
            return 0
        episodes = await episodes_repo.list_episode_pages(
            session, [dataset.id], filter=episodes_repo.EpisodeFilter(), after_index=None, limit=1_000_000
        )
        by_index = {e.index: e for e in episodes[dataset.id]}
        scene, docs = await asyncio.to_thread(
            _read_truth, folder, [i for i in sorted(by_index) if i % 2 == 0]
        )
        now = utcnow()
        values = [
            {
                "episode_id": by_index[index].id,
                "camera": camera,
                "frame": b["frame"],
                "x": b["x"],
                "y": b["y"],
                "width": b["width"],
                "height": b["height"],
                "label": b["label"],
                "track_id": b["track_id"],
                "occluded": b.get("occluded", False),
                "truncated": b.get("truncated", False),
                "difficult": False,
                "outside": False,
                "notes": None,
                "source": Source.IMPORTED.value,
                "score": None,
                "keyframe": True,
                "version": 1,
                "review": Review.VALIDATED.value,
                "reviewed_by": None,
                "reviewed_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for index, doc in docs.items()
            for camera, camera_boxes in doc["cameras"].items()
            for b in camera_boxes
        ]
        names = list(SCENE_LABELS[scene])
        names += sorted({v["label"] for v in values} - set(names))
        ids, _ = await labels.ensure_labels(session, dataset.id, [(name, None, None) for name in names])
        for value in values:
            value["label_id"] = ids[value.pop("label")]
        for start in range(0, len(values), CHUNK):
            await boxes_repo.insert_boxes(session, values[start : start + CHUNK])
        # Statistics for the planner now (a page of boxes is planned on them), not at autovacuum's turn.
        await refresh_statistics(session, ["object_annotation"])
    return len(values)
