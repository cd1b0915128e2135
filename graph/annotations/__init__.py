"""The graph side of episode annotations, live annotation sessions and consensus (domain/annotations):
types, then `*_queries`, `*_mutations` and `*_subscriptions`."""
