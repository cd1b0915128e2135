"""The graph side of analysis runs, suggestions and the dashboard (domain/analysis): types, then
`*_queries`, `*_mutations` and `*_subscriptions`."""
