"""Projects (products being made), their milestones and their files."""
