"""Pure numerical analysis of episodes (numpy/scipy only, no I/O): trajectory metrics, anomaly
suggestions, data-quality checks and clustering. Every function takes arrays and returns picklable
values, so the analysis jobs can run it in a process pool."""
