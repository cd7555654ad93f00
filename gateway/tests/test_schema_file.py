"""The committed SDL frontends generate types from must match the code."""

from gateway.print_schema import SCHEMA_FILE, render


def test_schema_file_matches_the_code() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert committed == render(), (
        f"{SCHEMA_FILE.name} is out of date with the code; "
        "regenerate it with `python -m gateway.print_schema` and commit the result."
    )
