"""The OpenAPI description of the Action API, and schemathesis fuzzing every action against it."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from catalog import actions, actionschema, gdc
from catalog.datastore.search import SEARCH_PARAMS
from catalog.search import VALID_PARAMS
from catalog.users import create_token
from conftest import sysadmin_site
from web import openapi


def test_the_description_is_generated_from_the_declared_schemas_gdc_fields_included():
    doc = openapi.spec()
    assert {p.rsplit("/", 1)[1] for p in doc["paths"]} == set(actions.ACTIONS) == set(actionschema.actions())
    create = doc["paths"]["/api/3/action/package_create"]["post"]["requestBody"]["content"]["application/json"]
    props = create["schema"]["properties"]
    assert {f for f in gdc.fields()} <= set(props)   # all 50 GDC fields
    assert props["data_category"]["enum"] == gdc.fields()["data_category"]["choices"]
    search = {p["name"] for p in doc["paths"]["/api/3/action/package_search"]["get"]["parameters"]}
    assert {"qf", "fl", "facet.sort", "q.op", "defType"} <= search == VALID_PARAMS
    ds = {p["name"] for p in doc["paths"]["/api/3/action/datastore_search"]["get"]["parameters"]}
    assert ds == SEARCH_PARAMS


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
            case.call_and_validate(headers=token if case.method == "POST" else None)

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - gather every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert operations == len(actions.ACTIONS) + len(actions.SIDE_EFFECT_FREE)
    assert not failures, "\n\n".join(failures)


def test_a_validation_error_about_a_field_called_message_matches_the_description(fuzz_app):
    # CKAN's field -> [messages] shape: a field named "message" makes error.message a list (found by the fuzzer).
    schema = schemathesis.openapi.from_wsgi("/api/3/openapi.json", fuzz_app)
    operation = schema["/api/3/action/bulk_update_delete"]["POST"]
    case = operation.Case(body={"message": {"\x01": 1}, "org_id": "org", "datasets": ["ds"]}, media_type="application/json")
    response = case.call_and_validate(headers={"Authorization": fuzz_app.config["FUZZ_TOKEN"]})
    assert response.status_code == 409
    assert response.json()["error"]["message"] == ["Keys must be text without control characters"]
