"""`GET /api/meta`: what the web page needs to know about this deployment before anyone signs in."""

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from src import clock
from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD
from src.ingest.consents import MONTHLY_REQUISITION_ALLOWANCE, requisitions_this_month
from src.integrations.enablebanking import enablebanking_status
from src.kit.dependencies import SessionDep
from src.kit.responses import error_responses
from src.kit.schemas import Schema
from src.settings import Environment, settings

router = APIRouter(prefix="/api", tags=["meta"])


class DemoAccount(Schema):
    """The account `finsync dev` creates. Its password is public on purpose: the README prints it, and the account
    exists only on a development stack that `finsync dev` started."""

    email: str
    password: str


class Provider(Schema):
    """A bank-data provider of this deployment: the real one (`live`) or its local sandbox, and what stops finsync
    from using it (one sentence for the operator), or null when nothing known does."""

    name: Literal["gocardless", "enablebanking"]
    mode: Literal["live", "sandbox"]
    problem: str | None


class RequisitionCount(Schema):
    """GoCardless requisitions this deployment created this calendar month (UTC), against the free tier's monthly
    allowance: every connect and re-authorisation creates one, and GoCardless refuses new ones once the allowance
    is spent. For the operator (a warning is logged past 80 %)."""

    this_month: int = Field(ge=0, description="New requisitions created since the first of this month, UTC.")
    monthly_allowance: int = Field(description="New requisitions a calendar month the free tier allows.")


class Meta(Schema):
    """The deployment as the web page sees it: which environment, which GoCardless, each provider and its mode,
    (in development only) the demo account to pre-fill the sign-in form with, and for the operator how much of
    GoCardless's monthly requisition allowance is spent."""

    environment: Environment
    gocardless: Literal["sandbox", "gocardless"]
    providers: list[Provider]
    demo_account: DemoAccount | None
    gocardless_requisitions: RequisitionCount


@router.get("/meta", response_model=Meta, responses=error_responses(503))
def read_meta(session: SessionDep) -> Meta:
    """The environment (`development` or `production`), whether GoCardless is the local `sandbox` or the real
    `gocardless`, and the demo account's credentials on a stack `finsync dev` started (it sets
    FINSYNC_DEMO_ACCOUNT, refused in production; null everywhere else). No token needed: the sign-in page reads it.
    The demo password is not a secret (the README prints it); the account only exists where `finsync dev` made it.

    `providers` lists GoCardless and Enable Banking, each `live` or `sandbox`. Enable Banking's `problem` is the
    answer of its application check (a refused key, an inactive application, no answer), asked at most once a
    minute; GoCardless has no such check (its keys are tried at the first call) and its `problem` is null.

    `gocardless_requisitions` counts the GoCardless requisitions created this calendar month (UTC) against the free
    tier's allowance of 50 (requisitions of connections deleted since are not counted)."""
    demo = DemoAccount(email=DEMO_EMAIL, password=DEMO_PASSWORD) if settings.finsync_demo_account else None
    providers = [
        Provider(name="gocardless", mode="sandbox" if settings.uses_sandbox else "live", problem=None),
        Provider(
            name="enablebanking",
            mode="sandbox" if settings.uses_enablebanking_sandbox else "live",
            problem=enablebanking_status.current(),
        ),
    ]
    return Meta(
        environment=settings.finsync_env,
        gocardless="sandbox" if settings.uses_sandbox else "gocardless",
        providers=providers,
        demo_account=demo,
        gocardless_requisitions=RequisitionCount(
            this_month=requisitions_this_month(session, now=clock.now()),
            monthly_allowance=MONTHLY_REQUISITION_ALLOWANCE,
        ),
    )
