"""The engine: containers and their state machine, the store, locks and events."""
