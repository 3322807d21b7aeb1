"""Enable Banking's side of `src/ingest/`: its raw tables written verbatim (`raw.py`), extraction from the API
(`extraction.py`), and the derivations into the unified tables (institutions, connections, accounts; transactions
and balances through the shared statements of `src/ingest/transactions.py` and `src/ingest/balances.py`)."""
