"""The DuckDB engine reports the same (row, field, type) set as frictionless-py on a corpus of bad files."""
import json
from pathlib import Path

import frictionless
import pytest

from ingest import validation

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name[: -len(".csv")] for p in CORPUS.glob("*.csv"))


def _key(e):
    return (e.get("rowNumber"), e.get("fieldName") or None, e["type"])


def frictionless_errors(csv_path, schema_path):
    resource = frictionless.Resource(path=csv_path.name, basepath=str(csv_path.parent),
                                     schema=frictionless.Schema.from_descriptor(json.loads(schema_path.read_text())))
    report = frictionless.validate(resource)
    return report.to_descriptor()["tasks"][0]


@pytest.mark.parametrize("case", CASES)
def test_engine_reports_the_same_errors_as_frictionless(case, tmp_path):
    csv_path, schema_path = CORPUS / f"{case}.csv", CORPUS / f"{case}.schema.json"
    ours = validation.validate_paths([str(csv_path)], schema_arg=str(schema_path), workdir=str(tmp_path))
    theirs = frictionless_errors(csv_path, schema_path)
    task = ours["tasks"][0]
    assert task["khlang"]["engine"] == "duckdb", task["warnings"]
    assert sorted(map(_key, task["errors"]), key=str) == sorted(map(_key, theirs["errors"]), key=str)
    assert task["valid"] == theirs["valid"]
    assert task["stats"]["rows"] == theirs["stats"]["rows"]
    assert task["labels"] == theirs["labels"]


def test_every_corpus_file_is_invalid_so_the_parity_is_about_errors():
    for case in CASES:
        assert not frictionless_errors(CORPUS / f"{case}.csv", CORPUS / f"{case}.schema.json")["valid"], case


def test_error_objects_have_frictionless_shape(tmp_path):
    ours = validation.validate_paths([str(CORPUS / "type-errors.csv")], schema_arg=str(CORPUS / "type-errors.schema.json"),
                                     workdir=str(tmp_path))
    theirs = frictionless_errors(CORPUS / "type-errors.csv", CORPUS / "type-errors.schema.json")
    assert set(ours) >= {"valid", "stats", "warnings", "errors", "tasks"}
    mine = {(e["rowNumber"], e.get("fieldName"), e["type"]): e for e in ours["tasks"][0]["errors"]}
    for e in theirs["errors"]:
        assert mine[(e["rowNumber"], e.get("fieldName"), e["type"])] == e


def test_unsupported_schema_features_fall_back_to_frictionless_and_say_so(tmp_path):
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "parent", "type": "integer"}],
              "foreignKeys": [{"fields": ["parent"], "reference": {"resource": "", "fields": ["id"]}}]}
    (tmp_path / "s.json").write_text(json.dumps(schema))
    (tmp_path / "t.csv").write_text("id,parent\n1,\n2,1\n3,9\n")
    report = validation.validate_paths([str(tmp_path / "t.csv")], schema_arg=str(tmp_path / "s.json"),
                                       workdir=str(tmp_path))
    task = report["tasks"][0]
    assert task["khlang"]["engine"] == "frictionless"
    assert "foreign keys" in task["warnings"][0]
    assert [(e["rowNumber"], e["type"]) for e in task["errors"]] == [(4, "foreign-key")]


def test_error_limit_truncates_the_list_but_totals_count_everything(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"fields": [{"name": "n", "type": "integer"}]}))
    (tmp_path / "t.csv").write_text("n\n" + "x\n" * 30)
    report = validation.validate_paths([str(tmp_path / "t.csv")], schema_arg=str(tmp_path / "s.json"), limit_errors=5,
                                       workdir=str(tmp_path))
    task = report["tasks"][0]
    assert len(task["errors"]) == 5
    assert task["warnings"] == ["reached error limit: 5"]
    assert task["khlang"]["errorsByType"] == {"type-error": 30}
