"""The graph side of background jobs: their types, queries, cancelling and updates (domain/jobs):
types, then `*_queries`, `*_mutations` and `*_subscriptions`."""
