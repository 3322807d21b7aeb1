"""GoCardless Bank Account Data: the REST client, its typed results and errors, and the token store."""
