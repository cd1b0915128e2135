"""The graph side of what every feature uses: pagination, node lookup, streams and episode events
(domain/core)."""
