"""``portfeil persons ...`` and ``portfeil seed`` against an embedded database in a temporary data directory."""

from __future__ import annotations

import json
from pathlib import Path

from portfeil.bg.identifiers import classify
from tests.conftest import invoke


def test_seed_list_show_record_death(data_dir: Path) -> None:
    code, out = invoke("seed", "--persons", "300", "--seed", "9", "--json")
    assert code == 0, out
    assert json.loads(out)["persons"] == 300
    assert (data_dir / "data" / "portfeil.db").exists()

    code, out = invoke("persons", "list", "--alive", "--min-age", "18", "--limit", "500", "--json")
    assert code == 0
    listed = json.loads(out)
    assert listed
    assert all(p["alive"] and p["age"] >= 18 for p in listed)
    assert all(classify(p["personal_number"]).valid for p in listed)

    person = listed[0]
    code, out = invoke("persons", "show", person["personal_number"], "--json")
    assert code == 0
    assert json.loads(out)["id"] == person["id"]
    code, out = invoke("persons", "show", person["id"])
    assert code == 0
    assert person["personal_number"] in out

    code, out = invoke("persons", "record-death", person["id"], "--date", "2026-01-02", "--json")
    assert code == 0
    assert json.loads(out)["date_of_death"] == "2026-01-02"
    code, out = invoke("persons", "record-death", person["id"], "--date", "2026-01-02", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "person_deceased"


def test_show_unknown_person_exit_1(data_dir: Path) -> None:
    code, out = invoke("persons", "show", "8506258485", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "person_not_found"


def test_usage_errors_exit_2(data_dir: Path) -> None:
    assert invoke("persons", "record-death", "8506258485", "--date", "yesterday")[0] == 2
    assert invoke("persons", "record-death", "8506258485")[0] == 2
    assert invoke("seed")[0] == 2
