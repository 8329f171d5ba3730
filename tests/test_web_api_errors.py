"""Every error path of the CKAN Action API and the cube API answers in its one envelope shape."""
import pytest

from catalog import actions
from tests.conftest import assert_ckan_error, assert_cube_error, sysadmin_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app, db, ctx = sysadmin_site(tmp_path_factory.mktemp("errors"))
    actions.call(ctx, "organization_create", {"name": "org"})
    actions.call(ctx, "package_create", {"name": "secret", "owner_org": "org", "private": True})
    actions.call(ctx, "package_create", {"name": "open", "owner_org": "org"})
    from spending.synthetic import seed_spending

    seed_spending(ctx, contracts=200, years=range(2566, 2568), lines_per_year=60)
    from catalog.users import create_token, create_user

    outsider = create_user(db, "outsider", email="o@example.go.th", password="password-123")
    return {"client": app.test_client(), "admin": create_token(db, ctx.user["id"], "t"),
            "outsider": create_token(db, outsider["id"], "t")}


API = "/api/3/action/"


def test_an_unknown_dataset_is_404_not_found(site):
    assert_ckan_error(site["client"].get(API + "package_show?id=nope"), 404, "Not Found Error",
                      message="Package was not found")


def test_a_private_dataset_is_403_for_anonymous_and_outsiders(site):
    assert_ckan_error(site["client"].get(API + "package_show?id=secret"), 403, "Authorization Error")
    r = site["client"].get(API + "package_show?id=secret", headers={"Authorization": site["outsider"]})
    assert_ckan_error(r, 403, "Authorization Error")


def test_an_anonymous_write_is_403_before_anything_is_looked_up(site):
    assert_ckan_error(site["client"].post(API + "package_create", json={"name": "x"}), 403, "Authorization Error",
                      message="requires an authenticated user")


def test_invalid_values_are_409_with_the_field_errors(site):
    r = site["client"].post(API + "package_create", json={"name": "zz"}, headers={"Authorization": site["admin"]})
    assert_ckan_error(r, 409, "Validation Error", owner_org=["An organization must be provided"])


def test_an_unknown_search_parameter_is_400_search_query_error(site):
    assert_ckan_error(site["client"].get(API + "package_search?q=x&foo=1"), 400, "Search Query Error",
                      message="foo")


def test_an_unsortable_field_is_409_search_error(site):
    assert_ckan_error(site["client"].get(API + "package_search?sort=nope%20asc"), 409, "Search Error",
                      message="nope")


def test_http_level_errors_use_the_same_envelope(site):
    assert_ckan_error(site["client"].get("/api/3/no/such/path"), 404, "Not Found Error")
    assert_ckan_error(site["client"].delete(API + "package_show"), 405, "Method Not Allowed")


def test_malformed_requests_answer_400_with_ckans_plain_message(site):
    # CKAN answers these with a bare JSON string, not the envelope; clients rely on the status.
    for r in (site["client"].get(API + "no_such_action"),
              site["client"].get(API + "package_create"),
              site["client"].post(API + "package_create", data=b"{not json", content_type="application/json",
                                  headers={"Authorization": site["admin"]})):
        assert r.status_code == 400 and r.get_json().startswith("Bad request - ")


def test_the_envelope_helper_refuses_a_success(site):
    with pytest.raises(AssertionError):
        assert_ckan_error(site["client"].get(API + "status_show"), 404, "Not Found Error")


@pytest.mark.parametrize("path,status,message", [
    ("/api/3/cubes/nope/aggregate", 400, "nope"),
    ("/api/3/cubes/budget/aggregate?drilldown=nope", 400, "nope"),
    ("/api/3/cubes/budget/aggregate?pagesize=x", 400, "pagesize"),
    ("/api/3/cubes/budget/aggregate?unknown=1", 400, "unknown"),
])
def test_cube_errors_have_one_shape(site, path, status, message):
    assert_cube_error(site["client"].get(path), status, message)


def test_a_cube_without_a_built_model_is_404(tmp_path):
    app, _, _ = sysadmin_site(tmp_path)
    assert_cube_error(app.test_client().get("/api/3/cubes/budget/aggregate"), 404)
