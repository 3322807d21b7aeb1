"""Accounts and sign-in: registration, Argon2 passwords, short-lived JWT access tokens, rotating refresh tokens."""
