"""The Enable Banking API client (https://api.enablebanking.com): JWT auth, typed payloads, typed errors."""
