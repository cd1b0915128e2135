from __future__ import annotations

import strawberry
from strawberry import relay

from domain.objects import labels
from graph.context import Info
from graph.ids import decode_id
from graph.objects.label import Label
from graph.permissions import IsReviewer


@strawberry.input(description="A new label in a dataset's label set.")
class CreateLabelInput:
    dataset_id: relay.GlobalID = strawberry.field(description="The dataset.")
    name: str = strawberry.field(description="The class name, unique in the dataset.")
    color: str | None = strawberry.field(default=None, description="#rrggbb; default one picked by name.")
    parent_id: relay.GlobalID | None = strawberry.field(default=None, description="A broader label.")


@strawberry.input(description="Changes to a label; what is left out stays.")
class UpdateLabelInput:
    id: relay.GlobalID = strawberry.field(description="The label.")
    name: str | None = strawberry.field(default=None, description="A new name.")
    color: str | None = strawberry.field(default=None, description="A new colour, #rrggbb.")
    parent_id: relay.GlobalID | None = strawberry.field(default=None, description="A new parent.")
    clear_parent: bool = strawberry.field(default=False, description="Remove the parent.")


@strawberry.type
class LabelMutations:
    @strawberry.mutation(
        description="Add a label to a dataset's label set (reviewers).", permission_classes=[IsReviewer]
    )
    async def create_label(self, info: Info, input: CreateLabelInput) -> Label:
        row = await labels.create_label(
            info.context.runtime,
            decode_id(input.dataset_id, "Dataset", "input.datasetId"),
            input.name,
            input.color,
            decode_id(input.parent_id, "Label", "input.parentId"),
        )
        return Label.from_row(row)

    @strawberry.mutation(
        description="Rename or recolour a label, or change its parent (reviewers).",
        permission_classes=[IsReviewer],
    )
    async def update_label(self, info: Info, input: UpdateLabelInput) -> Label:
        row = await labels.update_label(
            info.context.runtime,
            decode_id(input.id, "Label", "input.id"),
            input.name,
            input.color,
            decode_id(input.parent_id, "Label", "input.parentId"),
            input.clear_parent,
        )
        return Label.from_row(row)

    @strawberry.mutation(
        description="Delete a label no box carries (reviewers); CONFLICT while boxes use it, false if none.",
        permission_classes=[IsReviewer],
    )
    async def delete_label(self, info: Info, id: relay.GlobalID) -> bool:
        return await labels.delete_label(info.context.runtime, decode_id(id, "Label", "id"))
