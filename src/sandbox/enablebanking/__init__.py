"""A stand-in for the Enable Banking API (api.enablebanking.com): a real HTTP server speaking its official API.

It verifies every request's JWT against the application's public key, lists mock banks, runs the consent flow
through a local page, and serves deterministic account data. Like the GoCardless sandbox beside it, it imports
nothing from the rest of `src/` (its payloads are its own, so the conformance tests catch a real divergence from
the API's OpenAPI document). Run it with `finsync sandbox --provider enablebanking --port 8766`.
"""
