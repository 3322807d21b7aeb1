"""The client's GraphQL documents against Dagster's schema, and its pure run-config and error-text rules.

No live Dagster here: the schema comes from the installed dagster-graphql, so an upgrade that renames a field or
a union member fails this file before it fails a launch.
"""

from functools import cache

import pytest
from dagster_graphql.schema import create_schema
from graphql import DocumentNode, GraphQLSchema, validate

from src.providers.dagster import queries
from src.providers.dagster.client import user_error_text
from src.providers.dagster.run_config import connection_id_in, expand_every_op, wants_every_op

DOCUMENTS = {name: value for name, value in vars(queries).items() if name.endswith("_DOCUMENT")}


@cache
def dagster_schema() -> GraphQLSchema:
    schema: GraphQLSchema = create_schema().graphql_schema
    return schema


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_against_dagsters_schema(name: str) -> None:
    document = DOCUMENTS[name]
    assert isinstance(document, DocumentNode)
    assert validate(dagster_schema(), document) == []


class TestRunConfig:
    def test_star_expands_to_every_op_and_named_ops_keep_their_own(self) -> None:
        config = {"ops": {"*": {"config": {"connection_id": "c1"}}, "b": {"config": {"connection_id": "c1", "x": 1}}}}

        expanded = expand_every_op(config, ["a", "b"])

        assert wants_every_op(config)
        assert not wants_every_op(expanded)
        assert expanded == {
            "ops": {"a": {"config": {"connection_id": "c1"}}, "b": {"config": {"connection_id": "c1", "x": 1}}}
        }
        assert "*" in config["ops"]  # the caller's dict is left alone

    def test_connection_id_is_found_in_the_ops(self) -> None:
        assert connection_id_in({}) is None
        assert connection_id_in({"ops": {"a": {"config": {"connection_id": None}}}}) is None
        assert connection_id_in({"ops": {"a": {"config": {"connection_id": "c1"}}, "b": {}}}) == "c1"
        with pytest.raises(ValueError, match="several connections"):
            connection_id_in(
                {"ops": {"a": {"config": {"connection_id": "c1"}}, "b": {"config": {"connection_id": "c2"}}}}
            )


class TestUserErrorText:
    def test_the_first_cause_without_its_class_name(self) -> None:
        error = {
            "className": "Failure",
            "message": "dagster._core.definitions.events.Failure: connection 1 does not exist\n",
            "causes": [{"className": "LookupError", "message": "LookupError: connection 1 does not exist\n"}],
        }
        assert user_error_text(error) == "connection 1 does not exist"

    def test_the_error_itself_without_causes_and_qualified_class_names(self) -> None:
        error = {
            "className": "DatabaseNotConfiguredError",
            "message": "src.db.engine.DatabaseNotConfiguredError: no db\n",
        }
        assert user_error_text(error) == "no db"

    def test_a_colon_in_the_users_text_stays(self) -> None:
        assert user_error_text({"className": "ValueError", "message": "bad: value"}) == "bad: value"
        assert user_error_text({"className": "ValueError", "message": "ValueError: bad: value"}) == "bad: value"
        assert user_error_text(None) is None
