"""The graph side of boxes (object annotations), labels and their import and export (domain/objects):
types, then `*_queries`, `*_mutations` and `*_subscriptions`."""
