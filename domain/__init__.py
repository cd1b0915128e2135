"""What the product knows: services (one per entity) and pure computation."""
