"""Write the schema as SDL to `gateway/schema.graphql`: `python -m gateway.print_schema`.

Frontends generate their types from that file, and a test fails when it drifts from code.
"""

from pathlib import Path

from strawberry.printer import print_schema

from gateway.schema import build_schema

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def render() -> str:
    """Return the schema's SDL as it should appear in the file."""
    return print_schema(build_schema()) + "\n"


def main() -> None:
    """Rewrite the schema file from the code."""
    SCHEMA_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")


if __name__ == "__main__":
    main()
