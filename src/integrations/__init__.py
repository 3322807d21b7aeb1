"""Each bank-data provider wired into finsync, one module per provider: its client built from Settings, the store
that keeps its secrets in the database, and its errors translated into the API's envelope. The API (through
`src.kit.dependencies`) and the Dagster resources (`src.orchestration.resources`) both build clients here."""
