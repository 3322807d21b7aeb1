"""`finsync dev`: the local stack's process supervisor."""
