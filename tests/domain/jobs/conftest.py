"""The queue tests' fixtures (tests/domain/jobs/queue_support.py)."""

from tests.domain.jobs.queue_support import env, pg_url, server, workers

__all__ = ["env", "pg_url", "server", "workers"]
