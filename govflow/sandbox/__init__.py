"""Sandbox programmes: calls, applications and their evaluation, laureates' roadmaps and milestones, cohort tracking,
and what they plug into the workflow layer."""
