"""Jobs as the graph sees them: reading them back and cancelling (the runner and its state
machine are in core/, which the runtime holds)."""
