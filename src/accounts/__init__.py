"""Accounts: a user's bank accounts, their current balance, daily balance history and display settings."""
