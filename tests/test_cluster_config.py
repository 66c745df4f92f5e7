"""Malformed ``cluster`` sections, each with its exact one-line message; and a good one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from tests.test_config_errors import plus, problems_of

CASES = [
    pytest.param(
        plus("cluster:\n  redis: http://user:hunter2@cache:6379\n"),
        ["8:10: cluster.redis: must be a Redis URL starting with redis://, rediss:// or unix://"],
        id="redis-not-a-redis-url",
    ),
    pytest.param(
        plus("cluster:\n  redis: [redis://a]\n"),
        ["8:10: cluster.redis: expected a string or {$env: NAME} / {$file: PATH}, got a list"],
        id="redis-a-list",
    ),
    pytest.param(
        plus("cluster:\n  redis: redis://cache:6379/0\n  channel_prefix: 'my gateway'\n"),
        ["9:19: cluster.channel_prefix: must be 1 to 64 letters, digits or _ . : -"],
        id="prefix-with-a-space",
    ),
    pytest.param(
        plus("cluster:\n  redis: redis://cache:6379/0\n  feed_lease: 1s\n"),
        ["9:15: cluster.feed_lease: must be between 2s and 60s"],
        id="lease-too-short",
    ),
    pytest.param(
        plus("cluster:\n  redis: redis://cache:6379/0\n  feed_lease: soon\n"),
        [
            "9:15: cluster.feed_lease: expected a duration such as 30s, 15m or 1h, got a string "
            "('soon')"
        ],
        id="lease-not-a-duration",
    ),
    pytest.param(
        plus("cluster:\n  redis: redis://cache:6379/0\n  feeds_lease: 5s\n"),
        ["9:3: cluster.feeds_lease: unknown key (did you mean feed_lease?)"],
        id="misspelt-key",
    ),
]


@pytest.mark.parametrize(("yaml_text", "expected"), CASES)
def test_malformed_cluster_section(tmp_path: Path, yaml_text: str, expected: list[str]) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    problems = problems_of(path)
    assert problems == [f"{path}:{line}" for line in expected]
    assert not any("hunter2" in problem for problem in problems)  # a URL's password stays out


def test_the_redis_url_may_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_REDIS_URL", "redis://:s3cret@cache:6379/2")
    path = tmp_path / "gateway.yaml"
    path.write_text(
        plus("cluster:\n  redis: {$env: TEST_REDIS_URL}\n  feed_lease: 10s\n"), encoding="utf-8"
    )
    cluster = load_config(path).cluster
    assert cluster.redis is not None and cluster.redis.reveal() == "redis://:s3cret@cache:6379/2"
    assert "s3cret" not in repr(cluster)
    assert cluster.feed_lease.seconds == 10
