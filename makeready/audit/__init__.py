"""The append-only, hash-chained record of every state change and decision."""
