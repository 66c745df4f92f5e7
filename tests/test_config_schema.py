"""The exported JSON Schema: valid Draft 2020-12, accepts the examples, rejects mistakes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gateway.cli import main
from gateway.config.jsonschema import config_json_schema
from gateway.plugins.registry import Registry
from gateway.plugins.testing import FAKES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/**/*.yaml"))

VALID: dict[str, Any] = {
    "version": 1,
    "broker": {"name": "Acme"},
    "accounts": [{"id": "MAIN-USD", "name": "Main", "type": "demo"}],
    "users": [
        {"login": "ann", "password_hash": "pbkdf2_sha256$1$salt$hash", "accounts": ["MAIN-USD"]}
    ],
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return config_json_schema(Registry.discover())


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


def fake_registry() -> Registry:
    registry = Registry()
    for fake in FAKES:
        registry.register(fake)
    return registry


def errors(validator: jsonschema.Draft202012Validator, instance: Any) -> list[str]:
    return sorted(
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(instance)
    )


def test_schema_is_valid_draft_2020_12(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_with_connectors_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(config_json_schema(fake_registry()))


def test_examples_exist() -> None:
    assert EXAMPLES, "no examples/**/*.yaml found"


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_example_validates(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    instance = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert errors(validator, instance) == []


def test_minimal_config_validates(validator: jsonschema.Draft202012Validator) -> None:
    assert errors(validator, VALID) == []


MALFORMED = [
    pytest.param({"acounts": []}, "Additional properties are not allowed", id="unknown-top-key"),
    pytest.param(
        {"accounts": [{**VALID["accounts"][0], "flags": {"supportOrderBracket": True}}]},
        "Additional properties are not allowed ('supportOrderBracket' was unexpected)",
        id="unknown-flag",
    ),
    pytest.param({"broker": {"name": 1234}}, "1234 is not of type 'string'", id="name-number"),
    pytest.param(
        {"server": {"max_body_bytes": 1.5}}, "1.5 is not of type 'integer'", id="float-for-int"
    ),
    pytest.param(
        {"accounts": [{**VALID["accounts"][0], "flags": {"supportLogout": "yes"}}]},
        "'yes' is not of type 'boolean'",
        id="string-for-bool",
    ),
    pytest.param(
        {"accounts": [{**VALID["accounts"][0], "type": "Demo"}]},
        "'Demo' is not one of ['live', 'demo']",
        id="enum",
    ),
    pytest.param({"version": 2}, "2 is not one of [1]", id="version"),
    pytest.param(
        {"accounts": [{**VALID["accounts"][0], "name": {"de_DE": "Haupt"}}]},
        "is not valid under any of the given schemas",
        id="text-without-en",
    ),
    pytest.param(
        {"messages": {"invalid_credential": "Nope"}},
        "'invalid_credential' is not one of",
        id="unknown-message-code",
    ),
    pytest.param(
        {"server": {"cors_origins": ["https://broker.example/app"]}},
        "does not match",
        id="origin-with-path",
    ),
    pytest.param(
        {"store": {"url": {"$vault": "db"}}},
        "is not valid under any of the given schemas",
        id="unknown-secret-reference",
    ),
]


@pytest.mark.parametrize(("change", "message"), MALFORMED)
def test_schema_rejects(
    validator: jsonschema.Draft202012Validator, change: dict[str, Any], message: str
) -> None:
    found = errors(validator, {**VALID, **change})
    assert found, "the schema accepted a malformed configuration"
    assert any(message in line for line in found), found


def test_schema_requires_version(validator: jsonschema.Draft202012Validator) -> None:
    instance = {k: v for k, v in VALID.items() if k != "version"}
    assert errors(validator, instance) == [": 'version' is a required property"]


def test_schema_checks_connector_types() -> None:
    validator = jsonschema.Draft202012Validator(config_json_schema(fake_registry()))
    assert errors(validator, {**VALID, "connectors": {"feed": {"type": "fake_market_data"}}}) == []
    assert errors(validator, {**VALID, "connectors": {"feed": {"type": "nope"}}})
    bad_option = {"feed": {"type": "fake_market_data", "url": "x"}}
    assert errors(validator, {**VALID, "connectors": bad_option})


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def test_schema_patterns_are_ecma_262(schema: dict[str, Any]) -> None:
    patterns = list(_patterns(schema))
    assert patterns
    for pattern in patterns:
        re.compile(pattern)
        assert "(?P<" not in pattern, pattern


def test_gateway_schema_prints_json(
    schema: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == json.loads(json.dumps(schema))


def test_gateway_schema_prints_yaml(
    schema: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "--format", "yaml"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    parsed = yaml.safe_load(out)
    assert parsed == json.loads(json.dumps(schema))
    jsonschema.Draft202012Validator.check_schema(parsed)
