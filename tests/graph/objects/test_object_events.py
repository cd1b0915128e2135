"""Box changes stream through episodeEvents and annotationSessionEvents (real ws clients)."""

from __future__ import annotations

from tests.conftest import gql, http_client, make_user, register
from tests.graph.live import Collector, serving, ws_client
from tests.graph.objects_setup import CREATE, box, labelled_dataset

FIELDS = """__typename ... on ObjectAnnotationsChanged { action count by { name } episode { index }
  objectIds objects { frame trackId review } }"""
EPISODE_EVENTS = f"subscription($id: ID!) {{ episodeEvents(episodeId: $id) {{ {FIELDS} }} }}"
SESSION_EVENTS = f"subscription($id: ID!) {{ annotationSessionEvents(sessionId: $id) {{ {FIELDS} }} }}"
START = "mutation($id: ID!) { startAnnotationSession(episodeId: $id) { id } }"


def change(action: str):
    return lambda event: next(iter(event.values())).get("action") == action


async def test_box_changes_reach_episode_and_session_subscribers(app, runtime, client, tiny_dataset):
    await register(runtime, tiny_dataset)
    _, episodes = await labelled_dataset(client)
    token = await make_user(runtime, "vera", "VIEWER")
    session_id = (await gql(client, START, id=episodes[0]))["data"]["startAnnotationSession"]["id"]
    async with serving(runtime) as address, ws_client(address, token) as ws:
        on_episode = Collector(ws, EPISODE_EVENTS, {"id": episodes[0]})
        on_session = Collector(ws, SESSION_EVENTS, {"id": session_id})
        try:
            async with http_client(app, (await make_user(runtime, "ann", "REVIEWER"))) as reviewer:
                for _ in range(50):  # the subscriptions are live once a first event arrives
                    made = await gql(reviewer, CREATE, input=[box(episodes[0], 0), box(episodes[0], 1)])
                    if on_episode.events and on_session.events:
                        break
                ids = [m["id"] for m in made["data"]["createObjectAnnotations"]]
                created = await on_episode.wait_for(change("CREATED"))
                body = created["episodeEvents"]
                assert (
                    body["count"] == 2 and body["by"] == {"name": "ann"} and body["episode"] == {"index": 0}
                )
                assert len(body["objects"]) == 2
                await gql(
                    reviewer,
                    "mutation($ids: [ID!]!) { validateObjectAnnotations(ids: $ids, validated: true) { id } }",
                    ids=ids,
                )
                reviewed = (await on_session.wait_for(change("REVIEWED")))["annotationSessionEvents"]
                assert sorted(reviewed["objectIds"]) == sorted(ids)
                assert {o["review"] for o in reviewed["objects"]} == {"VALIDATED"}
                await gql(reviewer, "mutation($ids: [ID!]!) { deleteObjectAnnotations(ids: $ids) }", ids=ids)
                deleted = (await on_episode.wait_for(change("DELETED")))["episodeEvents"]
                assert deleted["objects"] == [] and sorted(deleted["objectIds"]) == sorted(ids)
        finally:
            await on_episode.close()
            await on_session.close()
