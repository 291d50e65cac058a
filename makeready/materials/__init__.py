"""Materials: BOM explosion, requirements, readiness, purchase orders and shortages (DESIGN.md 3b)."""
