"""The graph side of datasets, episodes and tasks (domain/datasets): types, then `*_queries`,
`*_mutations` and `*_subscriptions`."""
