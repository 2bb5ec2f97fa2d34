"""Accounts: users, their roles, sign-in and language preference."""
