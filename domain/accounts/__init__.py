"""Users, roles, API tokens and browser sessions."""
