"""Conditions: "something is wrong and someone owns it", one mechanism for every domain.

A condition has a subject (any row, by type and id), a kind, an owner, a due time for its next escalation step, a
ladder of steps, and a resolution. Domains define kinds (`kinds.define`); the periodic pass (`service.run_pass`)
raises, escalates and clears them in batches. Late milestones use it today; shortages and failed inspections next.
"""
