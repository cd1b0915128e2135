"""Where a test session's changes are heard: `test_session:<id>`, published after commit."""

from __future__ import annotations

from domain.core.runtime import Runtime


def channel(session_id: int) -> str:
    return f"test_session:{session_id}"


async def publish(rt: Runtime, session_id: int, status: str) -> None:
    try:
        await rt.events.publish(channel(session_id), {"id": session_id, "status": status})
    except Exception:  # noqa: BLE001 - committed; progress watchers poll every second anyway
        pass
