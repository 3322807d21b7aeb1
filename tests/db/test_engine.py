"""The engine every finsync process uses: sessions in UTC whatever the database's own default.

`isolated_database_url` is a database of the test's own, so its default time zone can be changed freely."""

from sqlalchemy import create_engine, text

from src.db.engine import build_engine


class TestTimeZone:
    def test_sessions_run_in_utc_on_a_database_whose_default_is_another_zone(self, isolated_database_url: str) -> None:
        admin = create_engine(isolated_database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            database = connection.execute(text("SELECT current_database()")).scalar_one()
            connection.execute(text(f"ALTER DATABASE \"{database}\" SET timezone TO 'America/New_York'"))
            # The database's default really is another zone: a plain connection sees it.
            assert connection.execute(text("SHOW timezone")).scalar_one() != "UTC"
        admin.dispose()
        with create_engine(isolated_database_url).connect() as plain:
            assert plain.execute(text("SHOW timezone")).scalar_one() == "America/New_York"
        engine = build_engine(isolated_database_url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SHOW timezone")).scalar_one() == "UTC"
                # 03:30 UTC on 8 March is still 7 March in New York: finsync's day is the UTC one.
                day = connection.execute(text("SELECT (timestamptz '2026-03-08 03:30+00')::date")).scalar_one()
                assert day.isoformat() == "2026-03-08"
        finally:
            engine.dispose()

    def test_options_the_url_carries_are_kept(self, isolated_database_url: str) -> None:
        separator = "&" if "?" in isolated_database_url else "?"
        engine = build_engine(f"{isolated_database_url}{separator}options=-c%20statement_timeout%3D1234")
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "1234ms"
                assert connection.execute(text("SHOW timezone")).scalar_one() == "UTC"
        finally:
            engine.dispose()
