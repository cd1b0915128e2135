"""SQLModel tables, one module per entity. Importing this package registers them all."""

from persistence.tables.api_token import ApiTokenRow
from persistence.tables.base import SQLModel
from persistence.tables.dataset import DatasetRow
from persistence.tables.episode import EpisodeRow
from persistence.tables.job import JobRow
from persistence.tables.task import TaskRow
from persistence.tables.user import UserRow

metadata = SQLModel.metadata

__all__ = ["ApiTokenRow", "DatasetRow", "EpisodeRow", "JobRow", "TaskRow", "UserRow", "metadata"]
