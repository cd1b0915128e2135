"""Datasets and their episodes: registration, tasks, trajectories, frames, the demo."""
