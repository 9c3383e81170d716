"""sessions domain."""
