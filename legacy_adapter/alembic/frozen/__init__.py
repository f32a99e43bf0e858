"""What old Alembic revisions did, frozen as data (see each module: never edited)."""
