"""Packing lists, shipments and their release (DESIGN.md 3b); production change control."""
