"""Strawberry types written by hand, each with a `from_row()` constructor: tables never leak."""
