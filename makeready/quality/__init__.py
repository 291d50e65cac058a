"""Quality: ISO 2859-1 sampling plans, inspections, defects, holds and corrective actions (DESIGN.md 3b)."""
