from __future__ import annotations

import strawberry

from graph.analysis.dashboard import Dashboard
from graph.permissions import IsViewer


@strawberry.type
class DashboardQueries:
    @strawberry.field(
        description="Counts and chart series for the start page.", permission_classes=[IsViewer]
    )
    def dashboard(self) -> Dashboard:
        return Dashboard()
