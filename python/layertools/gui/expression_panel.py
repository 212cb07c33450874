"""The Layer Expression dock (placeholder until the panel lands)."""
