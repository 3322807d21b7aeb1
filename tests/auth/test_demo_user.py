"""The demo account `finsync dev` creates: there once, signed in with the README's password, never overwritten."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from src.auth.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_user
from src.auth.service import auth
from src.auth.throttle import SignInThrottle
from src.models import User
from src.ratelimit import RateLimiter


def test_created_once_and_signs_in_with_the_documented_password(db_session: Session) -> None:
    assert ensure_demo_user(db_session) is True
    assert ensure_demo_user(db_session) is False
    count = db_session.scalar(select(func.count()).select_from(User).where(User.email == DEMO_EMAIL))
    assert count == 1
    throttle = SignInThrottle(RateLimiter(), "127.0.0.1")
    assert auth.login(db_session, email=DEMO_EMAIL, password=DEMO_PASSWORD, throttle=throttle).access_token


def test_an_existing_account_with_that_address_is_left_alone(db_session: Session) -> None:
    auth.register(db_session, email="Demo@Example.com", password="changed by its owner")
    assert ensure_demo_user(db_session) is False
    throttle = SignInThrottle(RateLimiter(), "127.0.0.1")
    assert auth.login(db_session, email=DEMO_EMAIL, password="changed by its owner", throttle=throttle).access_token
