from __future__ import annotations

import strawberry

from graph.permissions import IsViewer
from graph.types.dashboard import Dashboard


@strawberry.type
class DashboardQueries:
    @strawberry.field(
        description="Counts and chart series for the start page.", permission_classes=[IsViewer]
    )
    def dashboard(self) -> Dashboard:
        return Dashboard()
