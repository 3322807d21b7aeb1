"""The migrations and the models describe the same schema, and the initial revision can be undone and redone."""

import re

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from src.db.migrate import alembic_config, upgrade_to_head
from src.models import Base


class TestMigrations:
    def test_autogenerate_finds_no_difference_from_the_models(self, isolated_database_url: str) -> None:
        engine = create_engine(isolated_database_url)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "target_metadata": Base.metadata}
                )
                assert compare_metadata(context, Base.metadata) == []
        finally:
            engine.dispose()

    def test_every_enum_column_accepts_exactly_its_enums_values(self, isolated_database_url: str) -> None:
        """Autogenerate does not compare CHECK constraints: a migration that forgets to widen one (a new provider,
        a new status) passes it and fails at the first insert. Each enum column's constraint in the migrated
        database names exactly the values its enum has."""
        expected: dict[tuple[str, str], set[str]] = {}
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                enums = getattr(column.type, "enums", None)
                if enums:
                    expected[(table.name, column.name)] = set(enums)
        assert ("connections", "provider") in expected
        engine = create_engine(isolated_database_url)
        try:
            with engine.connect() as connection:
                found = connection.execute(
                    text(
                        "SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
                        "JOIN pg_class rel ON rel.oid = con.conrelid WHERE con.contype = 'c'"
                    )
                ).all()
        finally:
            engine.dispose()
        for (table_name, column_name), values in expected.items():
            definitions = [
                definition
                for table, _, definition in found
                if table == table_name and f"({column_name})" in definition.replace("::text", "")
            ]
            assert definitions, f"{table_name}.{column_name} has no CHECK constraint"
            allowed = set(re.findall(r"'([^']*)'", " ".join(definitions)))
            assert allowed == values, f"{table_name}.{column_name}: the database allows {sorted(allowed)}"

    def test_database_is_at_head(self, isolated_database_url: str) -> None:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        engine = create_engine(isolated_database_url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        finally:
            engine.dispose()

    def test_downgrade_to_base_and_upgrade_again(self, isolated_database_url: str) -> None:
        config = alembic_config(isolated_database_url)
        command.downgrade(config, "base")
        engine = create_engine(isolated_database_url)
        try:
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            engine.dispose()
            upgrade_to_head(isolated_database_url)
            expected = {table.name for table in Base.metadata.sorted_tables}
            assert expected <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def test_addresses_stored_before_normalisation_take_their_normal_form(self, isolated_database_url: str) -> None:
        """Decomposed spellings (e + combining accent) become the composed form; two accounts that differ only in
        form are both left as they are."""
        import unicodedata

        config = alembic_config(isolated_database_url)
        command.downgrade(config, "0004")
        lone = unicodedata.normalize("NFD", "rené@example.com")
        twin_nfd, twin_nfc = unicodedata.normalize("NFD", "zoë@example.com"), "zoë@example.com"
        engine = create_engine(isolated_database_url)
        try:
            with engine.begin() as connection:
                for address in (lone, twin_nfd, twin_nfc):
                    connection.execute(
                        text("INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), :e, 'x')"),
                        {"e": address},
                    )
            upgrade_to_head(isolated_database_url)
            with engine.connect() as connection:
                stored = set(connection.execute(text("SELECT email FROM users")).scalars())
            assert stored == {"rené@example.com", twin_nfd, twin_nfc}
        finally:
            engine.dispose()
