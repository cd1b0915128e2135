"""Dataloaders, per request (per event in subscriptions), never shared; each is built when a
resolver first asks for it, so a request pays only for the loaders its fields use (a `node(id:)` uses
one or two of the 47)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from domain.accounts import tokens, users
from domain.analysis import queries as analysis_queries
from domain.annotations import progress as annotation_progress_service
from domain.annotations import service as episode_annotations_service
from domain.annotations import sessions as annotation_sessions
from domain.core.runtime import Runtime
from domain.datasets import episodes, tasks
from domain.datasets import service as datasets
from domain.edits import service as episode_edits_service
from domain.jobs import queries as jobs_queries
from domain.objects import labels as labels_service
from domain.objects import queries as object_queries
from domain.segments import service as segments
from domain.segments import task_text as segment_task_text_service
from domain.segments import vocabulary as segment_vocabulary
from domain.validation import comparisons as detection_comparisons
from domain.validation import projects, test_sessions

R = TypeVar("R")


def existing(row: R | None) -> R:
    """A row loaded by a foreign key, which the database keeps from dangling (it cascades or restricts
    deletes): None only when the row was deleted while this request ran, an internal error."""
    if row is None:
        raise LookupError("a row a foreign key names was deleted during the request")
    return row


class _Lazy:
    """A Loaders attribute: the DataLoader over `batch(runtime, keys)`, built on first access and kept
    in the instance (a non-data descriptor, so the instance's own attribute answers from then on)."""

    def __init__(self, batch: Callable[..., Any]) -> None:
        self.batch = batch
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, loaders: Loaders | None, owner: type | None = None) -> DataLoader[Any, Any]:
        if loaders is None:
            raise AttributeError(f"{self.name} is a loader of a Loaders instance")
        loader: DataLoader[Any, Any] = DataLoader(partial(self.batch, loaders.runtime))
        loaders.__dict__[self.name] = loader
        return loader


class Loaders:
    """The request's loaders by name (`info.context.loaders.episode.load(id)`), over `runtime`."""

    def __init__(self, rt: Runtime) -> None:
        self.runtime = rt

    dataset = _Lazy(datasets.datasets_by_ids)
    episode = _Lazy(episodes.episodes_by_ids)
    episode_by_index = _Lazy(episodes.episodes_by_indexes)
    episode_page = _Lazy(episodes.episode_pages)
    episode_count = _Lazy(episodes.episode_counts)
    task = _Lazy(tasks.tasks_by_keys)
    task_by_id = _Lazy(tasks.tasks_by_ids)
    dataset_tasks = _Lazy(tasks.tasks_by_datasets)
    job = _Lazy(jobs_queries.jobs_by_ids)
    user = _Lazy(users.users_by_ids)
    api_tokens = _Lazy(tokens.api_tokens_of)
    annotation = _Lazy(episode_annotations_service.annotations_by_ids)
    annotation_by_key = _Lazy(episode_annotations_service.annotations_by_keys)
    episode_annotations = _Lazy(episode_annotations_service.annotations_by_episodes)
    anomalies = _Lazy(episode_annotations_service.anomalies_by_annotations)
    consensus = _Lazy(annotation_progress_service.consensus_by_episodes)
    annotation_progress = _Lazy(annotation_progress_service.progress_by_datasets)
    session = _Lazy(annotation_sessions.sessions_by_ids)
    episode_sessions = _Lazy(annotation_sessions.sessions_by_episodes)
    participants = _Lazy(annotation_sessions.participants_by_sessions)
    participant = _Lazy(annotation_sessions.participants_by_keys)
    labels = _Lazy(labels_service.labels_by_datasets)
    label = _Lazy(labels_service.labels_by_ids)
    box = _Lazy(object_queries.boxes_by_ids)
    box_page = _Lazy(object_queries.box_pages)
    box_count = _Lazy(object_queries.box_counts)
    tracks = _Lazy(object_queries.tracks_by_episodes)
    episode_review = _Lazy(object_queries.review_by_episodes)
    dataset_review = _Lazy(object_queries.review_by_datasets)
    track_boxes = _Lazy(object_queries.track_boxes)
    analysis_runs = _Lazy(analysis_queries.analysis_runs)
    episode_metrics = _Lazy(analysis_queries.metrics_by_episodes)
    suggestions = _Lazy(analysis_queries.suggestions_by_episodes)
    project = _Lazy(projects.projects_by_ids)
    project_episode_ids = _Lazy(projects.linked_episode_ids)
    project_test_sessions = _Lazy(test_sessions.test_sessions_by_projects)
    test_session = _Lazy(test_sessions.test_sessions_by_ids)
    test_frame_totals = _Lazy(test_sessions.frame_totals)
    episode_edits = _Lazy(episode_edits_service.edits_by_episodes)
    comparison_page = _Lazy(detection_comparisons.comparison_pages)
    comparison_count = _Lazy(detection_comparisons.comparison_counts)
    segment = _Lazy(segments.segments_by_ids)
    episode_segments = _Lazy(segments.segments_by_episodes)
    segment_consensus = _Lazy(segments.consensus_by_keys)
    segment_labels = _Lazy(segment_vocabulary.segment_labels_by_datasets)
    segment_label = _Lazy(segment_vocabulary.segment_labels_by_ids)
    segment_task_text = _Lazy(segment_task_text_service.corrections_by_episodes)
