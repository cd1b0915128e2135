"""Time segments annotators mark on episodes, their vocabulary, consensus, and task-text corrections."""
