"""Plain async functions over a session (Prefect style): they flush, never commit."""
