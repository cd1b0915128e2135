"""What every feature shares: errors, the runtime, the job runner and its state machine, the
state machine check, batched pages, live episode events, leftovers."""
