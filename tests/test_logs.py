"""Log lines: JSON when asked for, each with its request id, never a secret."""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.request
from pathlib import Path

import pytest
import webtest

from gateway.app import Gateway
from gateway.logs import JsonFormatter, RequestIdFilter, formatter, log_format, request_id
from tests.live_gateway import copy_demo, serve

ROOT = Path(__file__).resolve().parent.parent


def record(message: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("gateway.x", logging.WARNING, __file__, 1, message, (), exc_info)


def test_a_json_line_has_the_time_level_logger_message_and_request_id() -> None:
    token = request_id.set("req-12345678")
    try:
        rec = record("hello %s")
        rec.args = ("world",)
        RequestIdFilter().filter(rec)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(rec))
    assert line["message"] == "hello world"
    assert (line["level"], line["logger"], line["request_id"]) == (
        "warning",
        "gateway.x",
        "req-12345678",
    )
    assert line["time"].endswith("+00:00") and line["process"] == os.getpid()


def test_an_exception_is_one_json_line_with_its_traceback() -> None:
    text = JsonFormatter().format(record("failed", exc=True))
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


def test_without_a_request_there_is_no_request_id() -> None:
    assert "request_id" not in json.loads(JsonFormatter().format(record("idle")))


def test_the_format_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_LOG_FORMAT", raising=False)
    assert log_format() == "text" and not isinstance(formatter(), JsonFormatter)
    monkeypatch.setenv("GATEWAY_LOG_FORMAT", "JSON")
    assert log_format() == "json" and isinstance(formatter(), JsonFormatter)
    monkeypatch.setenv("GATEWAY_LOG_FORMAT", "xml; rm -rf /")
    with pytest.raises(SystemExit, match="GATEWAY_LOG_FORMAT must be text or json"):
        log_format()


def test_a_log_line_written_during_a_request_carries_its_id(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    client = webtest.TestApp(gateway.app)
    seen: list[str | None] = []

    class Spy(logging.Handler):
        def emit(self, rec: logging.LogRecord) -> None:
            seen.append(getattr(rec, "request_id", None))

    spy = Spy()
    spy.addFilter(RequestIdFilter())
    logger = logging.getLogger("gateway")
    caplog.set_level(logging.INFO, logger="gateway")  # the failed login is logged at INFO
    logger.addHandler(spy)
    try:
        answer = client.post(
            "/authorize",
            {"login": "demo", "password": "wrong"},
            headers={"X-Request-Id": "abcdef123456"},
        )
    finally:
        logger.removeHandler(spy)
    assert answer.headers["X-Request-Id"] == "abcdef123456"
    assert seen and set(seen) == {"abcdef123456"}, seen  # the failed login is logged with it
    assert request_id.get() is None  # forgotten after the answer


def test_a_served_gateway_logs_json_lines_with_request_ids_and_no_token(tmp_path: Path) -> None:
    config = copy_demo(ROOT / "examples" / "demo", tmp_path)
    with serve(config, env={"GATEWAY_LOG_FORMAT": "json"}) as gateway:
        base = f"http://127.0.0.1:{gateway.port}"
        data = b"login=demo&password=demo"
        with urllib.request.urlopen(f"{base}/authorize", data, timeout=30) as r:
            token = json.loads(r.read())["d"]["access_token"]
        request = urllib.request.Request(
            f"{base}/accounts?probe=secret-in-query",
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "trace-0123456789"},
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.headers["X-Request-Id"] == "trace-0123456789"
        log = gateway.log
    text = log.read_text()
    parsed = [json.loads(line) for line in text.splitlines() if line.strip()]  # gunicorn's too
    access = [p for p in parsed if p.get("path") == "/accounts"]
    assert len(access) == 1
    assert access[0]["request_id"] == "trace-0123456789"
    assert (access[0]["method"], access[0]["status"]) == ("GET", 200)
    assert token not in text and "secret-in-query" not in text and "Bearer" not in text
    assert any(p["logger"] == "gunicorn.error" and "Booting worker" in p["message"] for p in parsed)
