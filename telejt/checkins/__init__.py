"""checkins domain."""
