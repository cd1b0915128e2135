"""Root fields, one module per entity."""
