"""Banks a user can connect, derived from the providers' institution lists, and their logos as finsync serves them."""

from datetime import datetime

from sqlalchemy import Computed, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from src.db.base import Base
from src.models.enums import Provider, checked_enum
from src.models.mixins import updated_at


class Institution(Base):
    __tablename__ = "institutions"
    __table_args__ = (
        Index("ix_institutions_countries", "countries", postgresql_using="gin"),
        Index("ix_institutions_name_search", "name_search", postgresql_using="gin"),
    )

    # GoCardless's id (N26_NTSBDEB1), or `ENABLEBANKING-<country>-<name>-<digest>` for an Enable Banking bank.
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    provider: Mapped[Provider] = mapped_column(
        checked_enum(Provider, "provider"),
        nullable=False,
        default=Provider.gocardless,
        server_default=Provider.gocardless.value,
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    bic: Mapped[str | None] = mapped_column(String(32))
    logo: Mapped[str | None] = mapped_column(Text)
    countries: Mapped[list[str]] = mapped_column(ARRAY(String(2)), nullable=False, server_default="{}")
    transaction_total_days: Mapped[int | None] = mapped_column(Integer)
    max_access_valid_for_days: Mapped[int | None] = mapped_column(Integer)
    # Built-in full-text search ('simple': no stemming, bank names are proper nouns in many languages).
    name_search: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple'::regconfig, name)", persisted=True)
    )
    updated_at: Mapped[datetime] = updated_at()


class InstitutionLogo(Base):
    """A bank's logo fetched from the URL its provider gave (`Institution.logo`), kept so the page can show it from
    finsync's own origin (its CSP allows no other) without asking the provider's CDN again. A failed fetch is
    remembered (`failed_at`) so a dead CDN is not asked on every page view; a logo fetched before stays served."""

    __tablename__ = "institution_logos"

    institution_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True
    )
    # The URL this row was fetched from: when the provider names another, the logo is fetched anew.
    source_url: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(32))
    etag: Mapped[str | None] = mapped_column(String(66))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
