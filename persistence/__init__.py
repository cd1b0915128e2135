"""Storage: SQLModel tables, repositories, engine and sessions, episode files, live events."""
