"""Bringing bank data in: the raw tables GoCardless fills, and every derivation of unified rows from them.

The sync assets and the REST API's connect flow both call this package, so each unified row has one code path.
"""
