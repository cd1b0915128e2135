"""The outside: Strawberry schema, Starlette app, media routes and the CLI."""
