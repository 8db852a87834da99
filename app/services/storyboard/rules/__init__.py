"""The embedded rule-based storyboard planner (no model, no network)."""
