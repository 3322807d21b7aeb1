"""The provider seam wired into finsync: the `BankDataProvider` (src/providers/seam.py) that serves a provider's
connections, a finsync institution as the seam's `Bank`, and a provider's failure in the API's words.

Everything above the providers that starts, completes or ends a consent, or reads an Enable Banking account, goes
through the seam: `src/connections/` for both providers, `src/ingest/enablebanking/extraction.py` for the reads.
(The GoCardless extraction still calls its client directly: it reads the per-account rate-limit headers of every
answer, which the seam does not carry.)
"""

from src.exceptions import AppError, ServiceUnavailableError
from src.integrations import enablebanking, gocardless
from src.models import Institution
from src.models.enums import Provider
from src.providers.enablebanking.client import EnableBankingClient
from src.providers.enablebanking.errors import EnableBankingError
from src.providers.enablebanking.seam import EnableBankingProvider
from src.providers.gocardless.client import GoCardlessClient
from src.providers.gocardless.errors import GoCardlessError
from src.providers.gocardless.seam import GoCardlessProvider
from src.providers.seam import Bank, BankDataProvider, ProviderError


def provider_for(
    provider: Provider, *, gocardless_client: GoCardlessClient | None, enablebanking_client: EnableBankingClient | None
) -> BankDataProvider:
    """The seam's provider for `provider`, over the client the caller holds (the request's, or a run's)."""
    if provider is Provider.enablebanking:
        if enablebanking_client is None:
            raise RuntimeError("an Enable Banking connection needs the Enable Banking client")
        return EnableBankingProvider(enablebanking_client)
    if gocardless_client is None:
        raise RuntimeError("a GoCardless connection needs the GoCardless client")
    return GoCardlessProvider(gocardless_client)


def bank_of(institution: Institution, aspsp_payload: dict[str, object] | None = None) -> Bank:
    """A finsync institution as the seam's `Bank`: GoCardless's id as it is, Enable Banking's by its `/aspsps`
    record (the payload names the bank at Enable Banking)."""
    return Bank(
        provider=institution.provider.value,
        id=institution.id,
        name=institution.name,
        countries=tuple(institution.countries or ()),
        bic=institution.bic,
        logo=institution.logo,
        history_days=institution.transaction_total_days,
        access_days=institution.max_access_valid_for_days,
        payload=aspsp_payload or {},
    )


def api_error(exc: ProviderError) -> AppError:
    """The API's answer for a provider's failure during a synchronous call: the provider's own translation of what
    it said (`gocardless_*`, `enablebanking_*` codes, sentences and Retry-After unchanged)."""
    cause = exc.__cause__
    if isinstance(cause, GoCardlessError):
        return gocardless.upstream_error(cause)
    if isinstance(cause, EnableBankingError):
        return enablebanking.upstream_error(cause)
    return ServiceUnavailableError(f"The bank-data provider refused the request: {exc}")
