"""Transactions: the keyset-paginated, filterable, searchable listing across a user's accounts."""
