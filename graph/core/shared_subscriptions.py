"""Subscriptions that would get the same answer share one execution (graphql-transport-ws).

Without this, every subscriber runs its own GraphQL document for every event: with 100 subscribers
of one episode an event is resolved, checked and JSON-encoded 100 times. Here the subscribers of a
SHAREABLE field whose answer is the same are one group: the document runs once per event, its
`payload` is encoded once, and each subscriber gets those bytes wrapped in its own
`{"id": <its operation id>, "type": "next", "payload": ...}` frame.

What determines the answer, and so the group key: the document text, the operation name, the
variables (as canonical JSON) and the viewer (user id, name and role: resolvers read the viewer for
permissions and for per-viewer fields, so two users never share an execution even with one role).
Only root fields whose stream is the same for every joiner are shared (SHAREABLE): episodeEvents and
annotationSessionEvents carry only live events. A field that yields a snapshot at subscribe time
(jobUpdates, testSessionProgress, dashboardUpdates) runs per subscriber as before: a late joiner of a
shared execution would miss its snapshot.

Each subscriber keeps a bounded queue (QUEUE_SIZE frames, as persistence/events.py does for the
broadcaster): one that falls a whole queue behind is dropped with a LIMIT_EXCEEDED error and may
subscribe again; the others go on. The execution stops when its last subscriber leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse, print_ast
from starlette.websockets import WebSocket
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from graph import json_text
from graph.context import Context

log = logging.getLogger(__name__)

Op = Operation[Context, None]  # one subscriber: a connection's operation
SHAREABLE = frozenset({"episodeEvents", "annotationSessionEvents"})
QUEUE_SIZE = 256


@lru_cache(maxsize=256)
def _shareable(query: str, operation_name: str | None) -> str | None:
    """The document in canonical form (graphql-core's printer: spacing and comments do not split a
    group) when its operation is a subscription to SHAREABLE root fields only; None otherwise, and for
    anything that does not parse (the normal path reports it)."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.SUBSCRIPTION:
        return None
    selections = operations[0].selection_set.selections
    if not selections or not all(isinstance(s, FieldNode) and s.name.value in SHAREABLE for s in selections):
        return None
    return print_ast(document)


class _End:
    """The mark closing a subscriber's queue: `errors` (formatted, before execution) end it with an
    `error` message; `close` closes the socket (4400) as Strawberry does for a document that does
    not parse; `last` (a `next` payload, JSON) goes out before `complete`; else only `complete`."""

    def __init__(
        self, errors: list[Any] | None = None, close: str | None = None, last: str | None = None
    ) -> None:
        self.errors = errors
        self.close = close
        self.last = last


class _Group:
    """One running execution and the queues of the subscribers it feeds."""

    def __init__(self, groups: SubscriptionGroups, key: tuple, context: Context, operation: Op):
        self.groups = groups
        self.key = key
        self.members: dict[Op, asyncio.Queue[str | _End]] = {}
        self.ended = False
        handler = operation.handler
        self.task = asyncio.create_task(
            self._run(handler, context, operation.query, operation.variables, operation.operation_name)
        )

    def join(self, operation: Op) -> asyncio.Queue[str | _End]:
        queue: asyncio.Queue[str | _End] = asyncio.Queue(QUEUE_SIZE)
        self.members[operation] = queue
        return queue

    def leave(self, operation: Op) -> None:
        self.members.pop(operation, None)
        if not self.members:
            self._close()
            self.task.cancel()

    def _close(self) -> None:
        self.ended = True
        if self.groups.groups.get(self.key) is self:
            del self.groups.groups[self.key]

    def _deliver(self, payload: str) -> None:
        for operation, queue in list(self.members.items()):
            if queue.full():
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(_End(last=json.dumps({"data": None, "errors": [_dropped()]})))
                self.members.pop(operation, None)
            else:
                queue.put_nowait(_frame(operation.id, "next", payload))

    def _end(self, end: _End) -> None:
        self._close()
        for queue in self.members.values():
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(end)

    async def _run(self, handler, context: Context, query: str, variables, operation_name) -> None:
        try:
            source = await handler.schema.stream(
                query,
                variable_values=variables,
                context_value=context,
                root_value=handler.root_value,
                operation_name=operation_name,
            )
            first = True
            async with aclosing(source):
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        errors = result.errors or []
                        reason = errors and handler._get_pre_execution_close_reason(errors[0])
                        self._end(_End(errors=[e.formatted for e in errors], close=reason or None))
                        return
                    first = False
                    if not isinstance(result, ExecutionResult):  # @defer/@stream frames: not shared
                        self._end(_End(errors=[{"message": "Incremental delivery is not supported"}]))
                        return
                    self._deliver(_payload(result))
            self._end(_End())
        except asyncio.CancelledError:
            self._close()
            raise
        except Exception:  # noqa: BLE001 - as Strawberry does: logged, each subscriber completes
            log.exception("shared subscription failed")
            self._end(_End())


def _payload(result: ExecutionResult) -> str:
    """The `next` payload as JSON text, encoded once for every subscriber of the group."""
    payload: dict[str, object] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json_text.dumps(payload)


def _frame(operation_id: str, kind: str, payload: str) -> str:
    return f'{{"id":{json.dumps(operation_id)},"type":"{kind}","payload":{payload}}}'


def _dropped() -> dict:
    return {
        "message": f"dropped: fell {QUEUE_SIZE} events behind; subscribe again",
        "extensions": {"code": "LIMIT_EXCEEDED", "limit": "subscriberQueue"},
    }


class SubscriptionGroups:
    """The running shared executions of one app, by what determines their answer."""

    def __init__(self) -> None:
        self.groups: dict[tuple, _Group] = {}

    def key(self, operation: Op, context: Context) -> tuple | None:
        """The group key, or None when the operation must run on its own."""
        canonical = _shareable(operation.query, operation.operation_name)
        if canonical is None:
            return None
        try:
            variables = json.dumps(operation.variables or {}, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        viewer = context.viewer
        who = None if viewer is None else (viewer.user_id, viewer.name, str(viewer.role))
        return (canonical, operation.operation_name, variables, who)

    def join(self, key: tuple, operation: Op, context: Context) -> tuple[_Group, asyncio.Queue]:
        group = self.groups.get(key)
        if group is None or group.ended:
            # The execution's own context (its own dataloaders), with this viewer; it outlives the
            # connection that started it, so it must not be that connection's context object.
            group = _Group(self, key, dataclasses.replace(context), operation)
            self.groups[key] = group
        return group, group.join(operation)


class SharedSubscriptionsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws where SHAREABLE subscriptions join their group (view.subscription_groups)."""

    async def run_operation(self, operation: Op) -> None:
        groups: SubscriptionGroups | None = getattr(self.view, "subscription_groups", None)
        key = None if groups is None else groups.key(operation, self.context)
        if groups is None or key is None:
            return await super().run_operation(operation)
        group, queue = groups.join(key, operation, self.context)
        socket: WebSocket = getattr(self.websocket, "ws")  # noqa: B009 - the ASGI adapter's Starlette socket
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _End):
                    break
                await socket.send_text(item)
            if item.close:
                self.operations.pop(operation.id, None)
                await self.websocket.close(code=4400, reason=item.close)
                return
            if item.last is not None:
                await socket.send_text(_frame(operation.id, "next", item.last))
            if item.errors:
                error = ErrorMessage(id=operation.id, type="error", payload=item.errors)
                await operation.send_operation_message(error)
            else:
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except Exception:  # noqa: BLE001 - the socket is gone: this subscriber leaves, the others go on
            with contextlib.suppress(Exception):
                self.operations.pop(operation.id, None)
        finally:
            group.leave(operation)
