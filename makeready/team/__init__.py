"""Team management: inviting people into an organization, their roles, leaving and removing members."""
