"""planning domain."""
