"""Dataloaders, created per request (per event in subscriptions), never shared."""

from __future__ import annotations

from functools import partial
from typing import TypeVar

from strawberry.dataloader import DataLoader

from domain.accounts import tokens, users
from domain.analysis import queries as analysis_queries
from domain.annotations import progress as annotation_progress
from domain.annotations import service as episode_annotations
from domain.annotations import sessions as annotation_sessions
from domain.core.runtime import Runtime
from domain.datasets import episodes, tasks
from domain.datasets import service as datasets
from domain.edits import service as episode_edits
from domain.jobs import queries as jobs_queries
from domain.objects import labels
from domain.objects import queries as object_queries
from domain.segments import service as segments
from domain.segments import task_text as segment_task_text
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


class Loaders:
    def __init__(self, rt: Runtime) -> None:
        self.dataset = DataLoader(partial(datasets.datasets_by_ids, rt))
        self.episode = DataLoader(partial(episodes.episodes_by_ids, rt))
        self.episode_by_index = DataLoader(partial(episodes.episodes_by_indexes, rt))
        self.episode_page = DataLoader(partial(episodes.episode_pages, rt))
        self.episode_count = DataLoader(partial(episodes.episode_counts, rt))
        self.task = DataLoader(partial(tasks.tasks_by_keys, rt))
        self.task_by_id = DataLoader(partial(tasks.tasks_by_ids, rt))
        self.dataset_tasks = DataLoader(partial(tasks.tasks_by_datasets, rt))
        self.job = DataLoader(partial(jobs_queries.jobs_by_ids, rt))
        self.user = DataLoader(partial(users.users_by_ids, rt))
        self.api_tokens = DataLoader(partial(tokens.api_tokens_of, rt))
        self.annotation = DataLoader(partial(episode_annotations.annotations_by_ids, rt))
        self.annotation_by_key = DataLoader(partial(episode_annotations.annotations_by_keys, rt))
        self.episode_annotations = DataLoader(partial(episode_annotations.annotations_by_episodes, rt))
        self.anomalies = DataLoader(partial(episode_annotations.anomalies_by_annotations, rt))
        self.consensus = DataLoader(partial(annotation_progress.consensus_by_episodes, rt))
        self.annotation_progress = DataLoader(partial(annotation_progress.progress_by_datasets, rt))
        self.session = DataLoader(partial(annotation_sessions.sessions_by_ids, rt))
        self.episode_sessions = DataLoader(partial(annotation_sessions.sessions_by_episodes, rt))
        self.participants = DataLoader(partial(annotation_sessions.participants_by_sessions, rt))
        self.participant = DataLoader(partial(annotation_sessions.participants_by_keys, rt))
        self.labels = DataLoader(partial(labels.labels_by_datasets, rt))
        self.label = DataLoader(partial(labels.labels_by_ids, rt))
        self.box = DataLoader(partial(object_queries.boxes_by_ids, rt))
        self.box_page = DataLoader(partial(object_queries.box_pages, rt))
        self.box_count = DataLoader(partial(object_queries.box_counts, rt))
        self.tracks = DataLoader(partial(object_queries.tracks_by_episodes, rt))
        self.episode_review = DataLoader(partial(object_queries.review_by_episodes, rt))
        self.dataset_review = DataLoader(partial(object_queries.review_by_datasets, rt))
        self.track_boxes = DataLoader(partial(object_queries.track_boxes, rt))
        self.analysis_runs = DataLoader(partial(analysis_queries.analysis_runs, rt))
        self.episode_metrics = DataLoader(partial(analysis_queries.metrics_by_episodes, rt))
        self.suggestions = DataLoader(partial(analysis_queries.suggestions_by_episodes, rt))
        self.project = DataLoader(partial(projects.projects_by_ids, rt))
        self.project_episode_ids = DataLoader(partial(projects.linked_episode_ids, rt))
        self.project_test_sessions = DataLoader(partial(test_sessions.test_sessions_by_projects, rt))
        self.test_session = DataLoader(partial(test_sessions.test_sessions_by_ids, rt))
        self.test_frame_totals = DataLoader(partial(test_sessions.frame_totals, rt))
        self.episode_edits = DataLoader(partial(episode_edits.edits_by_episodes, rt))
        self.comparison_page = DataLoader(partial(detection_comparisons.comparison_pages, rt))
        self.comparison_count = DataLoader(partial(detection_comparisons.comparison_counts, rt))
        self.segment = DataLoader(partial(segments.segments_by_ids, rt))
        self.episode_segments = DataLoader(partial(segments.segments_by_episodes, rt))
        self.segment_consensus = DataLoader(partial(segments.consensus_by_keys, rt))
        self.segment_labels = DataLoader(partial(segment_vocabulary.segment_labels_by_datasets, rt))
        self.segment_label = DataLoader(partial(segment_vocabulary.segment_labels_by_ids, rt))
        self.segment_task_text = DataLoader(partial(segment_task_text.corrections_by_episodes, rt))
