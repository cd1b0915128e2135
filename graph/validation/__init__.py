"""The graph side of projects, test sessions, uploaded videos and comparisons (domain/validation):
types, then `*_queries`, `*_mutations` and `*_subscriptions`."""
