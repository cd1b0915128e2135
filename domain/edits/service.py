"""Training edits saved on an episode: checked against the episode, versioned like annotations (a
save names the version it replaces; anything else is a CONFLICT carrying the current one)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from domain.accounts.users import Viewer
from domain.core.errors import Conflict, NotFound
from domain.core.runtime import Runtime
from domain.edits import EpisodeEdits, EpisodeShape, validate_edits
from persistence.documents import StoredEdits
from persistence.repositories import episode as episodes_repo
from persistence.repositories import episode_edit as repo
from persistence.tables import EpisodeEditRow, EpisodeRow


def shape_of(episode: EpisodeRow) -> EpisodeShape:
    return EpisodeShape(
        length=episode.length, cameras={c: (int(v[1]), int(v[2])) for c, v in episode.cameras.items()}
    )


def checked(data: dict | StoredEdits, episode: EpisodeRow, field: str) -> EpisodeEdits:
    """The edits of `data` (a client's JSON form, or edits saved before: the episode may have been
    registered again since), valid for this episode, or BAD_USER_INPUT naming the field."""
    if isinstance(data, StoredEdits):
        edits = EpisodeEdits.from_stored(data)
    else:
        edits = EpisodeEdits.from_json(data, field)
    return validate_edits(edits, shape_of(episode), field)


async def edits_by_episodes(rt: Runtime, ids: Sequence[int]) -> list[EpisodeEditRow | None]:
    async with rt.sessions() as session:
        rows = {r.episode_id: r for r in await repo.read_edits(session, ids)}
    return [rows.get(i) for i in ids]


async def save_episode_edits(
    rt: Runtime, viewer: Viewer, episode_id: int, data: dict, expected_version: int | None
) -> EpisodeEditRow:
    async with rt.sessions() as session:
        try:
            # The episode the edits are checked against is read in the write's transaction.
            async with session.begin():
                found = await episodes_repo.read_episodes_by_ids(session, [episode_id])
                if not found:
                    raise NotFound(f"episode_id: episode {episode_id} does not exist", field="episode_id")
                edits = checked(data, found[0], "edits").stored()
                if expected_version is None:
                    return await repo.insert_edits(session, episode_id, edits, viewer.user_id)
                saved = await repo.update_edits_if_version(
                    session, episode_id, expected_version, edits, viewer.user_id
                )
        except IntegrityError:
            saved = None  # someone saved the first version at the same time
        if saved is None:
            # Read after the write's transaction ended (nothing kept from it), so the answer shows what
            # is committed now.
            session.expire_all()
            found_edits = await repo.read_edits(session, [episode_id])
            current = found_edits[0] if found_edits else None
            raise Conflict(
                "expected_version: "
                + (
                    f"{expected_version} is not the current version"
                    if expected_version is not None
                    else "the episode has saved edits; name the version you replace"
                ),
                field="expected_version",
                currentVersion=current.version if current else None,
                current=current.edits.stored() if current else None,
            )
    return saved
