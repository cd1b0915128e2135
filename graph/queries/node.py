from __future__ import annotations

import strawberry
from strawberry import relay

from graph.permissions import IsViewer


@strawberry.type
class NodeQueries:
    node: relay.Node | None = relay.node(
        description="Any object by its global id, or null.", permission_classes=[IsViewer]
    )
    nodes: list[relay.Node | None] = relay.node(
        description="Objects by their global ids, in order; null where none.", permission_classes=[IsViewer]
    )
