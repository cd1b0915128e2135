"""Annotations in and out: import, export, the uploaded archive and the formats."""
