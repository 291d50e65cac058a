"""The workflow kernel: the machine engine, the event bus, the stale-write check and after-commit work.

The bottom of the core: it imports no domain package. What it needs from the domains (who a user is towards an
organization, how an audit event is written) is installed by the composition root (`makeready.composition`).
"""
