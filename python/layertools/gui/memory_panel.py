"""The Memory dock (placeholder until the panel lands)."""
