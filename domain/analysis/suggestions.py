"""Annotators' answer to a suggested anomaly: verify it (it stays through re-runs) or dismiss it."""

from __future__ import annotations

from domain.accounts.users import Viewer
from domain.core.errors import NotFound
from domain.core.runtime import Runtime
from persistence.repositories import episode_analysis as results_repo
from persistence.repositories import suggestion as suggestions_repo
from persistence.tables import AnomalyRow


async def review_suggestion(
    rt: Runtime, viewer: Viewer, anomaly_id: int, verified: bool
) -> AnomalyRow | None:
    """Verified: kept and marked. Dismissed: deleted. Returns the row, or None once dismissed."""
    async with rt.sessions() as session, session.begin():
        row = await suggestions_repo.read_suggestion(session, anomaly_id)
        if row is None:
            raise NotFound(f"id: suggestion {anomaly_id} does not exist", field="id")
        if verified:
            await suggestions_repo.set_verified(session, anomaly_id)
        else:
            await suggestions_repo.delete_suggestion(session, anomaly_id)
        await results_repo.refresh_review_order(session, [row.episode_id])
        if verified:
            await session.refresh(row)  # as the UPDATE left it
    return row if verified else None
