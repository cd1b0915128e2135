"""The graph side of running a detector over episodes (domain/detection): types, then `*_queries`,
`*_mutations` and `*_subscriptions`."""
