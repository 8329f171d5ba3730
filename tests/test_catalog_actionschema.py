"""Every action's declared parameters (catalog/actions.schema.json) match what its code reads, both ways."""
import ast
import inspect

import pytest

from catalog import accounts, actions, actionschema, gdc, packages, resources, resourceviews
from catalog.errors import ValidationError



def _defs(module):
    tree = ast.parse(inspect.getsource(module))
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _copies(value, var):
    """Is `value` a copy of the dict `var`: dict(var), {**x, **var}, {k: v for k, v in var.items() ...}?"""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict":
        return bool(value.args) and isinstance(value.args[0], ast.Name) and value.args[0].id == var
    if isinstance(value, ast.Dict):
        return any(k is None and (_copies(v, var) or (isinstance(v, ast.Name) and v.id == var))
                   for k, v in zip(value.keys, value.values))
    if isinstance(value, ast.DictComp):
        it = value.generators[0].iter
        return (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr == "items"
                and isinstance(it.func.value, ast.Name) and it.func.value.id == var)
    return False


def reads(fn):
    """Keys an action reads from its data dict, following the helpers of its module that receive the dict
    (or a copy of it: `dict(data)`, `{**x, **data}`)."""
    defs = _defs(inspect.getmodule(fn))
    found, seen = set(), set()

    def visit(fname, var):
        if (fname, var) in seen or fname not in defs:
            return
        seen.add((fname, var))
        for node in ast.walk(defs[fname]):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and _copies(node.value, var)):
                visit(fname, node.targets[0].id)   # a copy of the dict, read further down
            if isinstance(node, ast.Call):
                f = node.func
                if (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == var
                        and f.attr in ("get", "pop") and node.args and isinstance(node.args[0], ast.Constant)):
                    found.add(node.args[0].value)
                name = f.id if isinstance(f, ast.Name) else None
                # reader(data, "key", ...): get_or_bust, as_int, as_bool, as_list, _json_list, ...
                if (len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id == var
                        and isinstance(node.args[1], ast.Constant)):
                    found.add(node.args[1].value)
                if name in defs:
                    params = [a.arg for a in defs[name].args.args]
                    for i, arg in enumerate(node.args):
                        if isinstance(arg, ast.Name) and arg.id == var and i < len(params):
                            visit(name, params[i])
            elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == var
                  and isinstance(node.slice, ast.Constant)):
                found.add(node.slice.value)
            elif (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
                  and any(isinstance(c, ast.Name) and c.id == var for c in node.comparators)):
                found.add(node.left.value)

    args = [a.arg for a in defs[fn.__name__].args.args]
    visit(fn.__name__, args[1])
    return {k for k in found if isinstance(k, str)}


# Parameters read through a loop over a declared list rather than by a literal name.
DYNAMIC = {
    "package": set(packages.TEXT_FIELDS) | set(gdc.fields()) | {"version"},
    "resource": set(resources.CORE) | {"schema", "upload", "khlang_autoload"},
    "group": {"title", "description", "image_url"},
}


def _dynamic(action):
    if action == "user_update":
        return set(accounts.EDITABLE)
    if action in ("resource_view_create", "resource_view_update"):   # each view type's own settings
        return {k for keys in resourceviews.VIEW_TYPES.values() for k in keys}
    for prefix, names in DYNAMIC.items():
        if action.startswith(prefix + "_") and action.split("_", 1)[1] in ("create", "update", "patch"):
            return names
    if action.startswith(("organization_", "group_")) and action.split("_", 1)[1] in ("create", "update", "patch"):
        return DYNAMIC["group"]
    return set()


@pytest.mark.parametrize("action", sorted(actions.ACTIONS))
def test_every_parameter_an_action_reads_is_declared(action):
    undeclared = reads(actions.ACTIONS[action]) - set(actionschema.parameters(action)) - set(actionschema.prefixes(action))
    assert not undeclared, f"{action} reads {sorted(undeclared)} but catalog/actions.schema.json does not declare them"


@pytest.mark.parametrize("action", sorted(actions.ACTIONS))
def test_every_declared_parameter_is_read_by_its_action(action):
    accepted = set(actionschema.ignored(action))   # CKAN parameters taken for compatibility and documented as ignored
    unread = set(actionschema.parameters(action)) - reads(actions.ACTIONS[action]) - _dynamic(action) - accepted
    assert not unread, f"{action} declares {sorted(unread)} but its code never reads them"


def test_every_required_and_ignored_parameter_is_declared():
    for name in actions.ACTIONS:
        assert set(actionschema.required(name)) <= set(actionschema.parameters(name)), name
        assert set(actionschema.ignored(name)) <= set(actionschema.parameters(name)), name


@pytest.mark.parametrize("action,data,field,message", [
    ("package_search", {"rows": "ten"}, "rows", "Must be a whole number"),
    ("package_search", {"rows": [1]}, "rows", "Must be a whole number"),
    ("package_show", {"id": ["a", "b"]}, "id", "Must be a string"),
    ("datastore_search", {"resource_id": "x", "include_total": {"a": 1}}, "include_total", "Must be true or false"),
    ("package_create", {"name": "x", "data_category": "nope"}, "data_category", None),
])
def test_values_of_the_wrong_type_are_a_validation_error_naming_the_field(site_ctx, action, data, field, message):
    with pytest.raises(ValidationError) as exc:
        actions.call(site_ctx, action, data)
    assert exc.value.errors[field] == [message] if message else exc.value.errors[field]


@pytest.fixture
def site_ctx(tmp_path):
    from conftest import sysadmin_site

    return sysadmin_site(tmp_path)[2]
