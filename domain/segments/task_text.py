"""A reviewer's correction of an episode's task text (its language instruction), keeping the original.

The first correction stores the text the episode had (its task's description, or none) as `original`;
later corrections change only `text`, each naming the version it replaces (`expected_version`; the
first one none), any other version being a CONFLICT with the current version and text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from domain.core.errors import Conflict, NotFound, check_text
from domain.core.runtime import Runtime
from persistence.columns import utcnow
from persistence.repositories import episode as episodes_repo
from persistence.repositories import segment as repo
from persistence.repositories import task as tasks_repo
from persistence.tables import EpisodeSegmentTaskRow

TEXT_MAX = 2000


class _Stale(Exception):
    """The stored version is not the expected one (raised to roll the transaction back)."""


@dataclass(frozen=True)
class TaskText:
    """An episode's task text now, and what it was before any correction."""

    text: str | None
    original: str | None
    corrected: bool
    version: int  # 0 before any correction
    corrected_by: int | None
    corrected_at: datetime | None


def task_text(row: EpisodeSegmentTaskRow | None, description: str | None) -> TaskText:
    """From the stored correction (or none) and the episode's task description now."""
    if row is None:
        return TaskText(description, description, False, 0, None, None)
    return TaskText(row.text, row.original, True, row.version, row.corrected_by, row.corrected_at)


async def corrections_by_episodes(
    rt: Runtime, episode_ids: Sequence[int]
) -> list[EpisodeSegmentTaskRow | None]:
    async with rt.sessions() as session:
        rows = {r.episode_id: r for r in await repo.read_task_texts(session, episode_ids)}
    return [rows.get(e) for e in episode_ids]


async def correct_task_text(
    rt: Runtime, corrected_by: int, episode_id: int, text: str, *, expected_version: int | None
) -> TaskText:
    """NOT_FOUND (episode_id), BAD_USER_INPUT (text), CONFLICT (expected_version)."""
    text = check_text(text, "text", max_length=TEXT_MAX)
    now = utcnow()
    async with rt.sessions() as session:
        try:
            async with session.begin():
                found = await episodes_repo.read_episodes_by_ids(session, [episode_id])
                if not found:
                    raise NotFound(f"episode {episode_id} does not exist", field="episode_id")
                episode = found[0]
                values = {"text": text, "corrected_by": corrected_by, "corrected_at": now}
                if expected_version is None:
                    original = None
                    if episode.task_index is not None:
                        tasks = await tasks_repo.read_tasks_by_keys(
                            session, [(episode.dataset_id, episode.task_index)]
                        )
                        original = tasks[0].description if tasks else None
                    row = await repo.insert_task_text(
                        session, {**values, "episode_id": episode_id, "original": original, "version": 1}
                    )
                else:
                    updated = await repo.update_task_text_if_version(
                        session, episode_id, expected_version, values
                    )
                    if updated is None:
                        raise _Stale
                    row = updated
        except (IntegrityError, _Stale):
            # Built after the rollback (an insert over an existing correction is stale too).
            stored = await repo.read_task_texts(session, [episode_id])
            current = stored[0] if stored else None
            raise Conflict(
                f"expected_version {expected_version} is not the current version",
                field="expected_version",
                currentVersion=current.version if current else 0,
                current=current.text if current else None,
            ) from None
    return task_text(row, None)
