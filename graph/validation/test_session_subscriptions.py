from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from domain.validation import test_sessions
from domain.validation.events import channel
from domain.validation.states import ENDED, TestStatus
from graph.context import Info
from graph.core.stream import channel_messages
from graph.ids import decode_id
from graph.permissions import IsViewer
from graph.validation.test_session import TestSession, TestSessionProgress

# Progress goes out at least once a TICK while a session runs, and no more often than GAP under load.
TICK = 1.0
GAP = 0.25


def progress_of(p: test_sessions.Progress) -> TestSessionProgress:
    return TestSessionProgress(
        session=TestSession.from_row(p.row),
        status=test_sessions.TestStatus(p.row.status),
        frames_processed=p.processed,
        frames_total=p.row.frames_total,
        frames_per_second=p.frames_per_second,
        precision=p.precision,
        recall=p.recall,
        eta_seconds=p.eta_seconds,
    )


@strawberry.type
class TestSessionSubscriptions:
    @strawberry.subscription(
        description=(
            "A test session's progress: at once, then at least once a second while it runs (up to four "
            "times a second as frames finish), and once at the end, when the stream ends."
        ),
        permission_classes=[IsViewer],
    )
    async def test_session_progress(
        self, info: Info, id: relay.GlobalID
    ) -> AsyncGenerator[TestSessionProgress, None]:
        rt = info.context.runtime
        session_id = decode_id(id, "TestSession", "id")
        await test_sessions.read_test_session(rt, session_id)  # NOT_FOUND before subscribing
        queue: asyncio.Queue = asyncio.Queue(maxsize=1)

        async def listen():
            async for _ in channel_messages(rt, channel(session_id)):
                if queue.empty():
                    queue.put_nowait(True)

        listener = asyncio.create_task(listen())
        try:
            last = 0.0
            while True:
                progress = await test_sessions.session_progress(rt, session_id)
                yield progress_of(progress)
                last = time.monotonic()
                if TestStatus(progress.row.status) in ENDED:
                    return
                # Wait for news or the tick; news faster than GAP is gathered into one update.
                try:
                    await asyncio.wait_for(queue.get(), timeout=TICK)
                except TimeoutError:
                    pass
                if listener.done() and (error := listener.exception()) is not None:
                    raise error
                await asyncio.sleep(max(0.0, GAP - (time.monotonic() - last)))
        finally:
            listener.cancel()
