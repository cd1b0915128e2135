"""Reports of evaluated test sessions for people who never open GraphiQL: one self-contained HTML file
with the verdict, metrics and plots, the same numbers as JSON, the comparisons as CSV (service.py)."""
