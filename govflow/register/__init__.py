"""The public register: who signed which charter, their commitments and withdrawals, as pages and open data."""
