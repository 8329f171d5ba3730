"""The OpenAPI description of the Action API, and schemathesis fuzzing every action against it."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from catalog import actions
from catalog.users import create_token
from conftest import sysadmin_site
from web import openapi


def test_the_description_names_every_action_and_only_known_parameters():
    assert set(openapi.ACTION_PARAMS) == set(actions.ACTIONS)
    assert {p for req, opt in openapi.ACTION_PARAMS.values() for p in (*req, *opt)} <= set(openapi.P)


def test_the_description_is_served_and_read_actions_have_get(client):
    doc = client.get("/api/3/openapi.json").get_json()
    assert doc["openapi"].startswith("3.0")
    assert set(doc["paths"]["/api/3/action/package_search"]) == {"get", "post"}
    assert set(doc["paths"]["/api/3/action/package_create"]) == {"post"}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    app, db, ctx = sysadmin_site(tmp_path_factory.mktemp("openapi"))
    actions.call(ctx, "organization_create", {"name": "org"})
    pkg = actions.call(ctx, "package_create", {"name": "ds", "title": "งบประมาณ", "owner_org": "org"})
    actions.call(ctx, "datastore_create", {"resource": {"package_id": pkg["id"]}, "records": [{"a": 1, "b": "ก"}]})
    app.config["FUZZ_TOKEN"] = create_token(db, ctx.user_id, "fuzz")
    return app


# CKAN answers 404 for a missing object before it asks who is calling, so "no token gives 401/403" does not hold
# for ids that do not exist; who may do what is tested exhaustively by the permission matrix instead.
EXCLUDED = [schemathesis.checks.ignored_auth]


def test_every_action_answers_fuzzed_input_with_a_documented_response(fuzz_app):
    schema = schemathesis.openapi.from_wsgi("/api/3/openapi.json", fuzz_app)
    token = {"Authorization": fuzz_app.config["FUZZ_TOKEN"]}
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            case.call_and_validate(headers=token if case.method == "POST" else None, excluded_checks=EXCLUDED)

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - gather every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert operations == len(actions.ACTIONS) + len(actions.SIDE_EFFECT_FREE)
    assert not failures, "\n\n".join(failures)
