"""Ethics committee reviews of projects: referrals, dossiers, the sealed vote and its decision."""
