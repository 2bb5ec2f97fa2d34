"""Organisations, their members and invitations, and stored files: shared by charters, reviews and sandboxes."""
