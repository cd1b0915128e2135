"""The graph side of users and their tokens (domain/accounts): types, then `*_queries`, `*_mutations`
and `*_subscriptions`."""
