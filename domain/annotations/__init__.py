"""Episode annotations: saves, drafts, live annotation sessions, consensus and agreement."""
