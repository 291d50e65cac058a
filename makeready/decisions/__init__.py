"""The decision log: the audit chain read as the decisions people took, for pages and the API."""
