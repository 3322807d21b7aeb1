"""The one form an e-mail address is stored and compared in.

Unicode NFKC: the composed and decomposed spellings of one address (é as one code point, or e + a combining
accent), and compatibility forms such as full-width letters, are one address. Case is compared as before: with
PostgreSQL's lower(), as the unique index `uq_users_email_lower` does; the stored address keeps the case it was
typed in.
"""

import unicodedata


def normalise_email(address: str) -> str:
    return unicodedata.normalize("NFKC", address.strip())
