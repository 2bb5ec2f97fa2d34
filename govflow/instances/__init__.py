"""Workflow instances: the persisted side of the engine (state, history, deadlines) and its pages."""
