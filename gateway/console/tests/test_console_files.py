"""The console's files: its documents fit the schema, and the gateway serves them confined.

The browser test (tests/test_console_browser.py) drives the page; these catch what a schema
change or an edited document would break, without a browser.
"""

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from graphql import (
    OperationDefinitionNode,
    build_schema,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoDeprecatedCustomRule

from gateway.console.mount import HEADERS, STATIC, add_console
from gateway.persisted.automatic import sha256_hex
from gateway.persisted.trusted import TrustedDocuments
from gateway.print_schema import render

DOCUMENTS = STATIC / "documents.json"


def _operations() -> list[dict[str, Any]]:
    manifest = json.loads(DOCUMENTS.read_text(encoding="utf-8"))
    assert manifest["format"] == "apollo-persisted-query-manifest" and manifest["version"] == 1
    operations: list[dict[str, Any]] = manifest["operations"]
    return operations


def test_every_document_is_valid_and_uses_nothing_deprecated() -> None:
    schema = build_schema(render())
    for operation in _operations():
        errors = validate(
            schema, parse(operation["body"]), [*specified_rules, NoDeprecatedCustomRule]
        )
        assert errors == [], (operation["name"], [error.message for error in errors])


def test_each_entry_is_named_typed_and_identified_by_its_text() -> None:
    operations = _operations()
    for operation in operations:
        (definition,) = parse(operation["body"]).definitions
        assert isinstance(definition, OperationDefinitionNode)
        assert definition.name is not None and definition.name.value == operation["name"]
        assert definition.operation.value == operation["type"]
        assert operation["id"] == sha256_hex(operation["body"]), (
            f"{operation['name']}: set its id to {sha256_hex(operation['body'])}"
        )
    assert len({operation["name"] for operation in operations}) == len(operations)


def test_the_manifest_registers_as_trusted_documents() -> None:
    trusted = TrustedDocuments.load([DOCUMENTS])
    assert len(trusted) == len(_operations())
    for operation in _operations():
        assert trusted.find(operation["id"]) == operation["body"]


def test_the_scripts_run_exactly_the_documents_the_manifest_lists() -> None:
    scripts = "\n".join(path.read_text(encoding="utf-8") for path in STATIC.glob("*.js"))
    named = set(re.findall(r'(?:documents\.get|\.run)\(\s*"(\w+)"', scripts))
    assert named == {operation["name"] for operation in _operations()}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The gateway's own wiring is exercised by the browser test, which loads the page from it.
    app = FastAPI()
    add_console(app)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_the_page_is_served_without_a_key_and_with_headers_that_confine_it(
    http: httpx.AsyncClient,
) -> None:
    bare = await http.get("/console")
    assert bare.status_code == 307 and bare.headers["location"] == "http://gateway/console/"

    page = await http.get("/console/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="./console.js">' in page.text
    for name, value in HEADERS.items():
        assert page.headers[name] == value
    assert "script-src 'self'" in page.headers["content-security-policy"]

    for name in ("console.js", "graphql.js", "live.js", "chart.js"):
        script = await http.get(f"/console/{name}")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"], name
        assert script.text == (STATIC / name).read_text(encoding="utf-8")
    manifest = await http.get("/console/documents.json")
    assert manifest.json()["operations"] == _operations()


async def test_nothing_outside_the_console_folder_is_served(http: httpx.AsyncClient) -> None:
    for path in ("/console/../app.py", "/console/%2e%2e/mount.py", "/console/missing.js"):
        answer = await http.get(path)
        assert answer.status_code == 404, path
