"""The home page, the dashboard, and the health check."""
