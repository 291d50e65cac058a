"""Sample rounds: prototypes made by a supplier, photographed, and approved or rejected by the brand."""
