"""Charters: organisations, signatures, commitments, evidence, self-assessments, and what they plug into the workflow layer."""
