"""Quality: acceptance sampling (ISO 2859-1) and, built on it, the inspections of production lots."""
