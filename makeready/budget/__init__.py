"""A project's budget: what was quoted against what it actually costs, in the project's currency (agency-internal
costs and margin for staff; the brand sees only its own fees)."""
