"""Organizations, users, memberships and API tokens: one identity for brands, coordinators and admins."""
