"""Makeready core: settings, database, and one package per domain. Knows nothing of HTTP."""
