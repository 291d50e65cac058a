"""Coordination you can measure: decision latency, waiting by party, slip and first-pass rates, read from the
audit trail (never typed by hand). `kinds` is the table of what counts as asked and decided, `facts` folds the
trail into `metric_facts` rows (incrementally from bus rules, or rebuilt from the whole chain), `figures` reads
them for the dashboard, the project page and the supplier page."""
