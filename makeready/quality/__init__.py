"""Quality: acceptance sampling (ISO 2859-1), inspections of production lots, defects, holds and corrective actions
(DESIGN.md 3b)."""
