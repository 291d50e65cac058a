"""The project workflow: the project lifecycle and its phase gates (`projects`, `gates`), what a project waits on
(`waiting`), the escalation pass (`escalation`, `jobs`), the brand's and the coordinators' reads (`overview`), the
decisions and questions (`decisions`), and the rules that react to the workflow's events (`triggers`).

Import what you need from its module; this package re-exports nothing, so loading one module loads only what it needs.
"""
