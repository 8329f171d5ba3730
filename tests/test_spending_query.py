"""The cube queries in this process (spending.access, as the cube API calls it): totals agree, private data stays out."""
import pytest

from catalog import actions
from spending import access
from spending.cubes import CubeError
from spending.synthetic import seed_spending
from tests.conftest import sysadmin_site


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    _, db, ctx = sysadmin_site(tmp_path_factory.mktemp("cubes"))
    seed_spending(ctx, contracts=400, years=range(2566, 2568), lines_per_year=80)
    return ctx


def ask(ctx, what, cube, dimension=None, **params):
    return access.run(ctx.settings, ctx.db, what, cube, {k: str(v) for k, v in params.items()}, dimension)


def test_the_cells_of_a_drilldown_add_up_to_its_summary_and_to_the_facts(model):
    by_ministry = ask(model, "aggregate", "budget", drilldown="ministry", fiscal_year=2567, pagesize=10000)
    cells = sum(c["amount.sum"] for c in by_ministry["cells"])
    assert cells == by_ministry["summary"]["amount.sum"] > 0
    facts = ask(model, "facts", "budget", fiscal_year=2567, pagesize=1000)
    assert facts["total_fact_count"] == sum(c["_count"] for c in by_ministry["cells"])


def test_one_year_by_default_every_year_on_request_or_by_year(model):
    default = ask(model, "aggregate", "budget", drilldown="ministry", pagesize=10000)
    every = ask(model, "aggregate", "budget", drilldown="ministry", fiscal_year="all", pagesize=10000)
    assert default["fiscal_year"] == 2567 and default["fiscal_year_default"] is True
    assert every["fiscal_year"] == "all" and every["summary"]["amount.sum"] > default["summary"]["amount.sum"]
    by_year = ask(model, "aggregate", "budget", drilldown="fiscal_year")
    assert sorted(c["fiscal_year.fiscal_year"] for c in by_year["cells"]) == [2566, 2567]
    assert sum(c["amount.sum"] for c in by_year["cells"]) == every["summary"]["amount.sum"]


def test_members_are_the_values_the_aggregate_shows(model):
    members = ask(model, "members", "budget", dimension="ministry", fiscal_year="all", pagesize=10000)
    shown = ask(model, "aggregate", "budget", drilldown="ministry", fiscal_year="all", pagesize=10000)
    assert {m["ministry.name"] for m in members["data"]} >= {c["ministry.name"] for c in shown["cells"]} != set()


def test_a_private_source_leaves_every_cube_answer(model):
    before = ask(model, "aggregate", "procurement", fiscal_year="all")["summary"]["_count"]
    assert before > 0
    actions.call(model, "package_patch", {"id": "synthetic-egp-contracts", "private": True})
    try:
        assert ask(model, "aggregate", "procurement", fiscal_year="all")["summary"]["_count"] == 0
    finally:
        actions.call(model, "package_patch", {"id": "synthetic-egp-contracts", "private": False})
    assert ask(model, "aggregate", "procurement", fiscal_year="all")["summary"]["_count"] == before


def test_an_unknown_drilldown_is_refused_with_the_allowed_dimensions(model):
    with pytest.raises(CubeError) as exc:
        ask(model, "aggregate", "budget", drilldown="nope")
    assert "ministry" in exc.value.allowed
