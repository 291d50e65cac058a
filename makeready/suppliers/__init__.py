"""The agency's directory of factories."""
