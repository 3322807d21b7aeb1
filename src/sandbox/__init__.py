"""A stand-in for the GoCardless Bank Account Data API: a real HTTP server speaking the official API.

It imports nothing from the rest of `src/` (it must not share the client's models, so that the conformance
tests catch real divergence). Run it with `finsync sandbox --port 8765`.
"""
