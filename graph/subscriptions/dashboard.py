from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from domain import dashboard
from graph.context import Info
from graph.permissions import IsViewer
from graph.types.dashboard import DashboardStats

# Counts are read once a second and sent only when they changed: at most one update a second.
INTERVAL = 1.0


@strawberry.type
class DashboardSubscriptions:
    @strawberry.subscription(
        description="The dashboard's counts: at once, then whenever they change, at most once a second.",
        permission_classes=[IsViewer],
    )
    async def dashboard_updates(self, info: Info) -> AsyncGenerator[DashboardStats, None]:
        rt = info.context.runtime
        last = None
        while True:
            current = await dashboard.counts(rt)
            if current != last:
                yield DashboardStats.of(current)
                last = current
            await asyncio.sleep(INTERVAL)
