"""Statements over many keys stay within what PostgreSQL plans (10,000+ tuple keys refused it once)."""

from __future__ import annotations

from persistence.repositories import object_annotation as boxes_repo


async def test_twelve_thousand_track_keys(runtime):
    keys = [(1, "front", f"T{i:05d}") for i in range(12_000)]
    async with runtime.sessions() as session:
        assert await boxes_repo.track_labels(session, keys) == {}
        assert await boxes_repo.read_tracks_boxes(session, keys) == []
        frames = [(1, f"T{i:05d}", "front", 0) for i in range(12_000)]
        assert await boxes_repo.existing_track_frames(session, frames) == set()
