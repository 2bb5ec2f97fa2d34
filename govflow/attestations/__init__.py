"""Attestations: signed credentials, the transparency log, keys and revocation."""
