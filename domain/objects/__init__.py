"""Boxes on frames (object annotations): service, queries, labels, interpolation, the demo's
true boxes, and transfer/ (import, export, formats)."""
