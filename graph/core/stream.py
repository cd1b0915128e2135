"""The messages of one channel, with broadcaster failures turned into errors a client handles."""

from __future__ import annotations

from collections.abc import AsyncIterator

from domain.core.errors import LimitExceeded, Unavailable
from domain.core.runtime import Runtime
from persistence.events import SlowSubscriber


async def channel_messages(rt: Runtime, channel: str, *, ready=None) -> AsyncIterator[dict]:
    """Yield the channel's messages; `ready` (a coroutine function) runs once subscribed."""
    try:
        async with rt.events.subscribe(channel) as messages:
            if ready is not None:
                async for item in ready():
                    yield item
            async for message in messages:
                yield message
    except SlowSubscriber as exc:
        raise LimitExceeded(f"dropped: {exc}; subscribe again", limit="subscriberQueue") from None
    except (ConnectionError, OSError) as exc:
        raise Unavailable(f"the event stream was lost ({exc}); subscribe again") from None
