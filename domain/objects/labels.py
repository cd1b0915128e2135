"""Labels: the class names (with colours and an optional parent) a dataset's boxes may carry."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.core.errors import BadUserInput, Conflict, NotFound
from domain.core.label_names import check_label, default_color
from domain.core.runtime import Runtime
from persistence.repositories import dataset as datasets_repo
from persistence.repositories import label as repo
from persistence.tables import LabelRow


async def labels_by_datasets(rt: Runtime, dataset_ids: Sequence[int]) -> list[list[LabelRow]]:
    async with rt.sessions() as session:
        rows = await repo.read_labels_by_datasets(session, dataset_ids)
    grouped: dict[int, list[LabelRow]] = {d: [] for d in dataset_ids}
    for row in rows:
        grouped[row.dataset_id].append(row)
    return [grouped[d] for d in dataset_ids]


async def labels_by_ids(rt: Runtime, ids: Sequence[int]) -> list[LabelRow | None]:
    async with rt.sessions() as session:
        rows = {r.id: r for r in await repo.read_labels_by_ids(session, ids)}
    return [rows.get(i) for i in ids]


async def ensure_labels(
    session: AsyncSession, dataset_id: int, wanted: Sequence[tuple[str, str | None, str | None]]
) -> tuple[dict[str, int], list[LabelRow]]:
    """The dataset's labels by name, creating the (name, color, parent name) ones it lacks, in order."""
    existing = {r.name: r.id for r in await repo.read_labels_by_datasets(session, [dataset_id])}
    created: list[LabelRow] = []
    for name, color, parent in wanted:
        if name in existing:
            continue
        values = {"dataset_id": dataset_id, "name": name, "color": color or default_color(name)}
        values["parent_id"] = existing.get(parent) if parent else None
        row = (await repo.insert_labels(session, [values]))[0]
        existing[name] = row.id
        created.append(row)
    return existing, created


async def create_label(
    rt: Runtime, dataset_id: int, name: str, color: str | None, parent_id: int | None
) -> LabelRow:
    name, color = check_label(name, color)
    try:
        async with rt.sessions() as session, session.begin():
            if await datasets_repo.read_dataset(session, dataset_id) is None:
                raise NotFound(f"dataset {dataset_id} does not exist", field="dataset_id")
            if parent_id is not None:
                parents = await repo.read_labels_by_ids(session, [parent_id])
                if not parents or parents[0].dataset_id != dataset_id:
                    raise BadUserInput("parent_id is not a label of this dataset", field="parent_id")
            values = {"dataset_id": dataset_id, "name": name, "color": color, "parent_id": parent_id}
            return (await repo.insert_labels(session, [values]))[0]
    except IntegrityError:
        raise Conflict(f"the dataset has a label {name!r} already", field="name") from None


async def update_label(
    rt: Runtime, label_id: int, name: str | None, color: str | None, parent_id: int | None, clear_parent: bool
) -> LabelRow:
    new_name: str | None = None  # named by the CONFLICT of a taken name
    try:
        # The parent chain is checked in the write's transaction: what was checked is what is written.
        async with rt.sessions() as session, session.begin():
            found = await repo.read_labels_by_ids(session, [label_id])
            if not found:
                raise NotFound(f"label {label_id} does not exist", field="id")
            current = found[0]
            new_name, new_color = check_label(name or current.name, color or current.color)
            values: dict[str, object] = {"name": new_name, "color": new_color}
            if clear_parent:
                values["parent_id"] = None
            elif parent_id is not None:
                if parent_id == label_id:
                    raise BadUserInput("a label cannot be its own parent", field="parent_id")
                chain = {label_id}
                cursor: int | None = parent_id
                while cursor is not None:  # walk up: a parent must be of the dataset and not form a cycle
                    rows = await repo.read_labels_by_ids(session, [cursor])
                    if not rows or rows[0].dataset_id != current.dataset_id:
                        raise BadUserInput("parent_id is not a label of this dataset", field="parent_id")
                    if cursor in chain:
                        raise BadUserInput("parent_id would make a cycle of parents", field="parent_id")
                    chain.add(cursor)
                    cursor = rows[0].parent_id
                values["parent_id"] = parent_id
            row = await repo.update_label(session, label_id, values)
    except IntegrityError:
        raise Conflict(f"the dataset has a label {new_name!r} already", field="name") from None
    if row is None:
        raise NotFound(f"label {label_id} does not exist", field="id")
    return row


async def delete_label(rt: Runtime, label_id: int) -> bool:
    async with rt.sessions() as session, session.begin():
        rows = await repo.read_labels_by_ids(session, [label_id])
        if not rows:
            return False
        used = await repo.count_label_boxes(session, label_id)
        if used:
            raise Conflict(
                f"label {rows[0].name!r} is on {used} boxes: delete or relabel them first",
                field="id",
                boxes=used,
            )
        await repo.delete_label(session, rows[0])
    return True
