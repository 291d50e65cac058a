"""Database: declarative base, column types, engine and sessions, tenancy scoping, migrations."""
