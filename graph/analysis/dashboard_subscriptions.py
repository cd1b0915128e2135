from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

import strawberry

from domain.analysis import dashboard
from graph.analysis.dashboard import DashboardStats
from graph.context import Info
from graph.permissions import IsViewer


@strawberry.type
class DashboardSubscriptions:
    @strawberry.subscription(
        description="The dashboard's counts: at once, then whenever they change, at most once a second.",
        permission_classes=[IsViewer],
    )
    async def dashboard_updates(self, info: Info) -> AsyncGenerator[DashboardStats, None]:
        async with contextlib.aclosing(dashboard.count_updates(info.context.runtime)) as updates:
            async for current in updates:
                yield DashboardStats.of(current)
