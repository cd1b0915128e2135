"""A dataset's segment vocabulary: the labels time segments carry, with colours (checked and defaulted
as box labels are: domain/core/label_names.py) and whether their segments may overlap others of the
same annotator."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from domain.core.errors import Conflict, NotFound
from domain.core.label_names import check_label
from domain.core.runtime import Runtime
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import segment as repo
from persistence.tables import SegmentLabelRow


async def segment_labels_by_datasets(rt: Runtime, dataset_ids: Sequence[int]) -> list[list[SegmentLabelRow]]:
    async with rt.sessions() as session:
        rows = await repo.read_segment_labels_by_datasets(session, dataset_ids)
    grouped: dict[int, list[SegmentLabelRow]] = {d: [] for d in dataset_ids}
    for row in rows:
        grouped[row.dataset_id].append(row)
    return [grouped[d] for d in dataset_ids]


async def segment_labels_by_ids(rt: Runtime, ids: Sequence[int]) -> list[SegmentLabelRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await repo.read_segment_labels_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def create_segment_label(
    rt: Runtime, dataset_id: int, name: str, color: str | None, may_overlap: bool
) -> SegmentLabelRow:
    """NOT_FOUND (dataset_id), BAD_USER_INPUT (name, color), CONFLICT (name taken in the dataset)."""
    name, color = check_label(name, color)
    try:
        async with rt.sessions() as session, session.begin():
            if await datasets_repo.read_dataset(session, dataset_id) is None:
                raise NotFound(f"dataset {dataset_id} does not exist", field="dataset_id")
            values = {"dataset_id": dataset_id, "name": name, "color": color, "may_overlap": may_overlap}
            return await repo.insert_segment_label(session, values)
    except IntegrityError:
        raise Conflict(f"the dataset has a segment label {name!r} already", field="name") from None


async def update_segment_label(
    rt: Runtime, label_id: int, name: str | None, color: str | None, may_overlap: bool | None
) -> SegmentLabelRow:
    """What is None stays. Segments already stored keep their overlaps when `may_overlap` turns false
    (the check applies to the next save)."""
    new_name: str | None = None
    try:
        async with rt.sessions() as session, session.begin():
            found = await repo.read_segment_labels_by_ids(session, [label_id])
            if not found:
                raise NotFound(f"segment label {label_id} does not exist", field="id")
            current = found[0]
            new_name, new_color = check_label(name or current.name, color or current.color)
            values: dict[str, object] = {"name": new_name, "color": new_color}
            if may_overlap is not None:
                values["may_overlap"] = may_overlap
            row = await repo.update_segment_label(session, label_id, values)
    except IntegrityError:
        raise Conflict(f"the dataset has a segment label {new_name!r} already", field="name") from None
    if row is None:
        raise NotFound(f"segment label {label_id} does not exist", field="id")
    return row


async def delete_segment_label(rt: Runtime, label_id: int) -> bool:
    """False if there is none; CONFLICT while segments carry it."""
    async with rt.sessions() as session, session.begin():
        found = await repo.read_segment_labels_by_ids(session, [label_id])
        if not found:
            return False
        used = await repo.count_label_segments(session, label_id)
        if used:
            raise Conflict(
                f"segment label {found[0].name!r} is on {used} segments: delete or relabel them first",
                field="id",
                segments=used,
            )
        return await repo.delete_segment_label(session, label_id)
