"""Developer-only: check a running gateway and our own schemas against TradingView's OpenAPI file.

Not a test and not part of CI. It is the only place where the project reads the official
"REST API Specification for Brokers" 1.4.14 OpenAPI file; the test suite carries the project's
own transcription (gateway/conformance/schemas.py). When the file is absent the script says so
and exits 0.

Three checks:

1. transcription: the facts of our schemas (paths, types, required, strictness, enums, bounds,
   defaults) against those of the official response schemas, operation by operation, the
   trading streams' messages (``STREAM_MESSAGES``) included;
2. examples: the hand-written VALID/INVALID bodies of tests/test_spec_schemas.py and the
   STREAM_VALID/STREAM_INVALID messages of tests/test_spec_schemas_trading.py run through the
   official schemas, where both verdicts must agree (save the examples marked ``ours_only`` or
   ``official_rejects``);
3. live: /authorize, /config, /accounts, /accounts/{first id}/instruments, /mapping, /groups,
   /permissions and finally /logout of a running gateway, each body validated against the
   official schema and against ours, with any disagreement reported.

Usage::

    .venv/bin/python tools/check_against_openapi.py --url http://127.0.0.1:8080
    .venv/bin/python tools/check_against_openapi.py --offline     # checks 1 and 2 only

Exit status: 0 when everything agrees (or the OpenAPI file is missing), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OPENAPI = REPO.parent / "shared" / "reference" / "tradingview-rest-api-1.4.14.yaml"
BASE_URI = "urn:tradingview:rest-api-for-brokers:1.4.14"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

sys.path.insert(0, str(REPO))
from gateway.conformance import schemas as ours  # noqa: E402

Schema = dict[str, Any]

OUR_SCHEMAS: dict[str, Schema] = {**ours.RESPONSES, **ours.STREAM_MESSAGES}
"""Our schema of each operation: its response, or for a trading stream one of its messages."""


# --- the official file as JSON Schema -------------------------------------------------------------


def to_json_schema(node: Any) -> Any:
    """Translate an OpenAPI 3.0 document (or part of it) into draft 2020-12 terms.

    * keys become strings (YAML reads the response code ``200`` as an integer);
    * a ``$ref`` object keeps only its ``$ref`` (3.0 ignores the siblings, 2020-12 would not:
      ``ErrorMessage`` has ``$ref`` next to ``additionalProperties: false``);
    * ``nullable: true`` becomes a ``null`` alternative;
    * boolean ``exclusiveMinimum``/``exclusiveMaximum`` become the numeric 2020-12 form.
    """
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        return {"$ref": node["$ref"]}
    out: Schema = {str(key): to_json_schema(value) for key, value in node.items()}
    if out.get("nullable") is True:
        del out["nullable"]
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    for bound in ("minimum", "maximum"):
        exclusive = "exclusive" + bound.capitalize()
        if out.get(exclusive) is True and bound in out:
            out[exclusive] = out.pop(bound)
        elif out.get(exclusive) is False:
            del out[exclusive]
    return out


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass
class OpenApi:
    """The official document translated to JSON Schema, with a registry resolving its refs."""

    document: Schema
    registry: Registry[Any] = field(init=False)
    pointers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        resource = DRAFT202012.create_resource(self.document)
        self.registry = Registry().with_resource(BASE_URI, resource)
        self.pointers = {}
        for path, item in self.document["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    self.pointers[operation["operationId"]] = (
                        f"#/paths/{_pointer_escape(path)}/{method}/responses/200/content/"
                        "application~1json/schema"
                    )

    @classmethod
    def load(cls, path: Path) -> OpenApi:
        """Read and translate the YAML file."""
        with path.open(encoding="utf-8") as stream:
            return cls(to_json_schema(yaml.safe_load(stream)))

    def resolve(self, ref: str) -> Any:
        """The node a local ``#/...`` reference points at."""
        node: Any = self.document
        for token in ref.removeprefix("#/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def validator(self, ref: str) -> Draft202012Validator:
        """A validator of the schema at local reference ``ref``."""
        schema = {"$schema": DIALECT, "$ref": BASE_URI + ref}
        return Draft202012Validator(schema, registry=self.registry)

    def response(self, operation_id: str) -> Schema:
        """The (translated) response schema of an operation."""
        node: Schema = self.resolve(self.pointers[operation_id])
        return node

    def errors(self, operation_id: str, body: object) -> list[str]:
        """Every way ``body`` fails the official response schema (empty when it is valid).

        For a ``oneOf(success, ErrorResponse)`` the details are those of the branch the body
        claims to be, as gateway/conformance/schemas.py does.
        """
        whole = _messages(self.validator(self.pointers[operation_id]), body)
        if not whole:
            return []
        branches = [b["$ref"] for b in self.response(operation_id).get("oneOf", []) if "$ref" in b]
        if not branches:
            return whole
        claims_error = isinstance(body, dict) and body.get("s") == "error"
        chosen = [ref for ref in branches if ref.endswith(_ERROR_SCHEMAS) == claims_error]
        if not chosen:
            return whole
        name = chosen[0].rsplit("/", 1)[-1]
        detailed = [f"{m} (as {name})" for m in _messages(self.validator(chosen[0]), body)]
        return detailed or whole


_ERROR_SCHEMAS = ("/ErrorResponse", "/ErrorMessage")  # responses, trading-stream messages


def _messages(validator: Draft202012Validator, body: object) -> list[str]:
    found = sorted(validator.iter_errors(body), key=lambda e: (e.json_path, e.message))
    return [_describe(error) for error in found]


def _describe(error: ValidationError) -> str:
    text = f"{error.json_path}: {error.message}"
    if error.context:
        closest = best_match(error.context)
        if closest is not None:
            text += f" [closest: {closest.json_path}: {closest.message}]"
    return text


# --- 1. transcription: the facts of both schemas --------------------------------------------------

FACT_KEYWORDS = (
    "type",
    "enum",
    "required",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "default",
    "deprecated",
)


def collect_facts(
    node: Any, path: str, out: dict[str, list[Schema]], resolve: Callable[[str], Any]
) -> None:
    """Record the validation facts of ``node`` and below, by response path (``$.d[].id``)."""
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(node["$ref"])
    if not isinstance(node, dict):
        return
    for combinator in ("oneOf", "anyOf", "allOf"):
        for branch in node.get(combinator, []):
            collect_facts(branch, path, out, resolve)
    fact: Schema = {key: node[key] for key in FACT_KEYWORDS if key in node}
    if "const" in node:
        fact["enum"] = [node["const"]]
    if "required" in fact:
        fact["required"] = sorted(fact["required"])
    if node.get("type") == "object":
        fact["strict"] = node.get("additionalProperties") is False
    if fact:
        out.setdefault(path, []).append(fact)
    for name, sub in node.get("properties", {}).items():
        collect_facts(sub, f"{path}.{name}", out, resolve)
    if isinstance(node.get("items"), dict):
        collect_facts(node["items"], f"{path}[]", out, resolve)


def normalized(facts: list[Schema]) -> list[str]:
    """Distinct facts, with enums of otherwise equal facts merged (branches that differ by id)."""
    merged: dict[str, set[str]] = {}
    for fact in facts:
        rest = json.dumps({k: v for k, v in fact.items() if k != "enum"}, sort_keys=True)
        enum = merged.setdefault(rest, set())
        enum.update(json.dumps(value) for value in fact.get("enum", []))
    result = []
    for rest, enum in merged.items():
        fact = json.loads(rest)
        if enum:
            fact["enum"] = sorted(json.loads(value) for value in enum)
        result.append(json.dumps(fact, sort_keys=True))
    return sorted(result)


def check_transcription(official: OpenApi) -> tuple[int, int]:
    """Compare our schemas' facts with the official ones; return (unexplained, explained)."""
    print("== transcription: gateway/conformance/schemas.py vs the official response schemas")
    unexplained = explained = 0
    for operation_id, schema in OUR_SCHEMAS.items():
        theirs: dict[str, list[Schema]] = {}
        mine: dict[str, list[Schema]] = {}
        collect_facts(official.response(operation_id), "$", theirs, official.resolve)
        collect_facts(schema, "$", mine, _no_refs)
        differences = []
        for path in sorted(set(theirs) | set(mine)):
            a, b = normalized(theirs.get(path, [])), normalized(mine.get(path, []))
            if a != b:
                differences.append((path, a, b))
        bad = [d for d in differences if (operation_id, d[0]) not in ours.STRICTER_THAN_OPENAPI]
        unexplained += len(bad)
        explained += len(differences) - len(bad)
        print(f"{'OK  ' if not bad else 'FAIL'}  {operation_id}")
        for path, a, b in differences:
            reason = ours.STRICTER_THAN_OPENAPI.get((operation_id, path))
            label = f"deliberate: {reason}" if reason else "DIFFERENT"
            print(f"    {path} ({label})\n      official: {a}\n      ours:     {b}")
    return unexplained, explained


def _no_refs(ref: str) -> Any:
    raise AssertionError(f"our schemas carry no $ref, found {ref}")


# --- 2. the self-test examples through the official schema ----------------------------------------


def check_examples(official: OpenApi) -> int:
    """Run the examples of tests/test_spec_schemas.py through the official schema."""
    print("\n== examples: tests/test_spec_schemas.py through the official schemas")
    try:
        from tests import test_spec_schemas as examples
        from tests import test_spec_schemas_trading as stream_examples
    except ImportError as exc:  # pytest missing: not a development environment
        print(f"SKIP  cannot import the examples: {exc}")
        return 0
    disagreements = 0
    count = 0
    valid = [*examples.VALID, *stream_examples.STREAM_VALID]
    invalid = [*examples.INVALID, *stream_examples.STREAM_INVALID]
    for expected_valid, example in _examples(valid, invalid):
        count += 1
        errors = official.errors(example.operation, example.body)
        official_valid = not errors
        # ours_only: a rule the spec states in prose only (STRICTER_THAN_OPENAPI);
        # official_rejects: the official schema contradicts the spec's text (LOOSER_THAN_OPENAPI).
        expected = (expected_valid and not example.official_rejects) or example.ours_only
        if official_valid != expected:
            disagreements += 1
            verdict = "accepts" if official_valid else "rejects"
            print(f"DISAGREE  {example.operation}: {example.why}: the official schema {verdict} it")
            for message in errors:
                print(f"    official: {message}")
    print(f"{'OK  ' if not disagreements else 'FAIL'}  {count} examples, {disagreements} disagree")
    return disagreements


def _examples(valid: list[Any], invalid: list[Any]) -> Iterator[tuple[bool, Any]]:
    yield from ((True, example) for example in valid)
    yield from ((False, example) for example in invalid)


# --- 3. a live gateway ----------------------------------------------------------------------------


@dataclass
class Reply:
    """What one HTTP call returned."""

    status: int | None
    body: object = None
    problem: str | None = None


def call(base: str, method: str, path: str, token: str | None, timeout: float) -> Reply:
    """One request; the form body of POST /authorize rides in ``path``'s query for simplicity."""
    url = base.rstrip("/") + path
    data = None
    if method == "POST":
        parsed = urllib.parse.urlsplit(url)
        url = urllib.parse.urlunsplit(parsed._replace(query=""))
        data = parsed.query.encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (scheme checked)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return Reply(None, problem=f"no answer: {exc}")
    try:
        return Reply(status, json.loads(raw))
    except ValueError:
        return Reply(status, problem=f"not JSON: {raw[:200]!r}")


def check_live(official: OpenApi, args: argparse.Namespace) -> int:
    """Call the gateway; return the number of failing operations."""
    print(f"\n== live: {args.url}")
    locale = urllib.parse.urlencode({"locale": args.locale})
    form = urllib.parse.urlencode(
        {"login": args.login, "password": args.password, "locale": args.locale}
    )
    failures = 0
    token: str | None = None

    def run(operation_id: str, method: str, path: str) -> object:
        nonlocal failures
        reply = call(args.url, method, path, token, args.timeout)
        shown = path.split("?", 1)[0] if method == "POST" else path
        problems = []
        if reply.problem:
            problems.append(reply.problem)
        elif reply.status != 200:
            problems.append(f"HTTP {reply.status} (the spec documents only 200)")
        official_errors = ours_errors = []
        if reply.problem is None:
            official_errors = official.errors(operation_id, reply.body)
            ours_errors = ours.validation_errors(operation_id, reply.body)
        failed = bool(problems or official_errors or ours_errors)
        failures += failed
        print(f"{'FAIL' if failed else 'OK  '}  {operation_id:<16} {method} {shown}")
        for problem in problems:
            print(f"    {problem}")
        for message in official_errors:
            print(f"    official: {message}")
        for message in ours_errors:
            print(f"    ours:     {message}")
        if reply.problem is None and bool(official_errors) != bool(ours_errors):
            if official_errors:
                print("    DISAGREE: only ours accepts this body: our schemas are too lax")
            else:
                print(
                    "    DISAGREE: only the official schema accepts this body (ours adds rules the"
                    " spec states in prose: STRICTER_THAN_OPENAPI)"
                )
        if (
            reply.problem is None
            and isinstance(reply.body, dict)
            and reply.body.get("s") == "error"
        ):
            print(f"    note: the gateway answered an error: {reply.body.get('errmsg')!r}")
        return reply.body

    authorized = run("authorize", "POST", f"/authorize?{form}")
    if isinstance(authorized, dict) and isinstance(authorized.get("d"), dict):
        token = authorized["d"].get("access_token")
    run("getConfiguration", "GET", f"/config?{locale}")
    accounts = run("getAccounts", "GET", f"/accounts?{locale}")
    account_id = None
    if isinstance(accounts, dict) and isinstance(accounts.get("d"), list) and accounts["d"]:
        first = accounts["d"][0]
        account_id = first.get("id") if isinstance(first, dict) else None
    if isinstance(account_id, str):
        quoted = urllib.parse.quote(account_id, safe="")
        run("getInstruments", "GET", f"/accounts/{quoted}/instruments?{locale}")
    else:
        failures += 1
        print("FAIL  getInstruments   not called: /accounts gave no account id")
    run("getMapping", "GET", f"/mapping?{locale}")
    run("getGroups", "GET", f"/groups?{locale}")
    run("getPermissions", "GET", f"/permissions?{locale}")
    if token and not args.keep_token:
        run("logout", "POST", f"/logout?{locale}")
    return failures


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the checks; 0 when everything agrees or the OpenAPI file is missing, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="gateway base URL")
    parser.add_argument("--login", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--locale", default="en")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument(
        "--openapi", type=Path, default=DEFAULT_OPENAPI, help="TradingView's OpenAPI YAML file"
    )
    parser.add_argument("--offline", action="store_true", help="skip the live gateway")
    parser.add_argument("--keep-token", action="store_true", help="do not call /logout at the end")
    args = parser.parse_args(argv)

    if urllib.parse.urlsplit(args.url).scheme not in {"http", "https"}:
        parser.error("--url must be an http:// or https:// URL")
    if not args.openapi.is_file():
        print(f"note: {args.openapi} not found; nothing to compare against (skipped).")
        return 0
    official = OpenApi.load(args.openapi)
    missing = sorted(set(OUR_SCHEMAS) - set(official.pointers))
    if missing:
        print(f"FAIL  operations unknown to the OpenAPI file: {', '.join(missing)}")
        return 1

    unexplained, explained = check_transcription(official)
    disagreements = check_examples(official)
    failures = 0 if args.offline else check_live(official, args)

    print(
        f"\nsummary: transcription {unexplained} unexplained difference(s) "
        f"({explained} deliberate), examples {disagreements} disagreement(s), "
        + ("live skipped" if args.offline else f"live {failures} failing operation(s)")
    )
    return 1 if unexplained or disagreements or failures else 0


if __name__ == "__main__":
    sys.exit(main())
