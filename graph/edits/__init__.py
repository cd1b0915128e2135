"""The graph side of training edits and the edited-episode export (domain/edits): types, then
`*_queries`, `*_mutations` and `*_subscriptions`."""
