"""Model validation: projects, uploaded videos, test sessions (state machine, runs, device
ingest, events, evaluation, comparisons) and metrics/ (pure)."""
