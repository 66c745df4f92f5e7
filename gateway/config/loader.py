"""Reading a configuration file: template → YAML → typed objects → cross-checks.

A file whose name ends in ``.j2`` is first rendered by Jinja2 in a sandbox, with the process
environment as ``env`` and ``--var NAME=VALUE`` pairs as ``var``: the usual way to keep one file
for TradingView's separate staging and production set-ups. Line numbers of errors then refer to
the rendered text, which ``gateway check --render`` prints.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections.abc import Mapping
from pathlib import Path

import jinja2
import jinja2.sandbox

from gateway.config._convert import INVALID, Context, Problem, convert_object
from gateway.config._yaml import Mark, YamlSyntaxError, YMap, YNode, YScalar, parse_yaml
from gateway.config.checks import check_references
from gateway.config.model import GatewayConfig, Store
from gateway.config.types import Secret
from gateway.plugins.registry import Registry
from gateway.store.database import anchor_sqlite_url


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` lists every reason, one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def render_template(
    text: str, file: str, variables: Mapping[str, str], environ: Mapping[str, str]
) -> str:
    """Render a ``.j2`` configuration in Jinja2's sandbox; errors become a ConfigError."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    env.globals["fail"] = _fail
    try:
        return env.from_string(text).render(env=dict(environ), var=dict(variables))
    except jinja2.TemplateSyntaxError as exc:
        line = exc.lineno or 1
        raise ConfigError([Problem(Mark(file, line, 1), "", f"template: {exc.message}")]) from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(
            [
                Problem(
                    Mark(file, _template_line(exc), 1),
                    "",
                    f"template: {exc.message} (pass it with --var NAME=VALUE)",
                )
            ]
        ) from None
    except jinja2.TemplateError as exc:  # fail(), sandbox refusals and the like
        mark = Mark(file, _template_line(exc), 1)
        raise ConfigError([Problem(mark, "", f"template: {exc}")]) from None


def _fail(message: str) -> None:
    """``{{ fail("...") }}`` in a template: stop with the broker's own message."""
    raise jinja2.TemplateRuntimeError(message)


def _template_line(exc: BaseException) -> int:
    """The template line an error was raised on: Jinja names its frames '<template>'."""
    line = 1
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def read_source(
    path: Path, variables: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The YAML text of a configuration file, rendered if it is a template."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError([Problem(Mark(file, 1, 1), "", f"cannot read: {reason}")]) from None
    if path.suffix == ".j2":
        text = render_template(
            text, file, variables or {}, os.environ if environ is None else environ
        )
    return text


def load_config(
    path: str | os.PathLike[str],
    *,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> GatewayConfig:
    """Load and validate a configuration file; raise ConfigError listing every problem."""
    source = Path(path)
    file = str(path)
    environ = os.environ if environ is None else environ
    registry = Registry.discover() if registry is None else registry
    root = _read_root(source, variables, environ, ())
    ctx = Context(
        file=file,
        base_dir=source.resolve().parent,
        environ=environ,
        services={"registry": registry},
    )
    if not isinstance(root, YMap):
        mark = root.mark if root is not None else Mark(file, 1, 1)
        raise ConfigError([Problem(mark, "", "expected a mapping with at least 'version'")])
    ctx.marks[""] = root.mark
    version = root.get("version")
    if version is None:
        raise ConfigError(
            [Problem(root.mark, "version", "missing required key (write 'version: 1' at the top)")]
        )
    cfg = convert_object(root, GatewayConfig, "", ctx)
    if cfg is not INVALID:
        check_references(cfg, ctx, registry)
        if not ctx.problems:  # _resolve_store needs a URL that check_references accepted
            cfg = dataclasses.replace(
                cfg, base_dir=ctx.base_dir, store=_resolve_store(cfg.store, ctx.base_dir)
            )
    if ctx.problems:
        ctx.problems.sort(key=lambda p: (p.mark.line, p.mark.col))
        raise ConfigError(ctx.problems)
    return cfg


MAX_EXTENDS = 5
"""How many files an ``extends`` chain may hold."""


def _read_root(
    source: Path,
    variables: Mapping[str, str] | None,
    environ: Mapping[str, str],
    chain: tuple[Path, ...],
) -> YNode | None:
    """The YAML tree of ``source``, merged over the file it ``extends``, if any."""
    file = str(source)
    text = read_source(source, variables, environ)
    try:
        root = parse_yaml(text, file)
    except YamlSyntaxError as exc:
        raise ConfigError([Problem(exc.mark, "", exc.message)]) from None
    if not isinstance(root, YMap):
        return root
    base_node = root.get("extends")
    if base_node is None:
        return root
    if not isinstance(base_node, YScalar) or not isinstance(base_node.value, str):
        raise ConfigError([Problem(base_node.mark, "extends", "expected a file name")])
    base = (source.parent / base_node.value).resolve()
    if base in chain or base == source.resolve():
        raise ConfigError([Problem(base_node.mark, "extends", "a file cannot extend itself")])
    if len(chain) >= MAX_EXTENDS:
        raise ConfigError(
            [Problem(base_node.mark, "extends", f"more than {MAX_EXTENDS} files extend each other")]
        )
    parent = _read_root(base, variables, environ, (*chain, source.resolve()))
    if not isinstance(parent, YMap):
        mark = parent.mark if parent is not None else base_node.mark
        raise ConfigError([Problem(mark, "", "an extended file must be a mapping")])
    own = YMap(
        tuple((k, v) for k, v in root.items if k.value != "extends"), root.mark, root.duplicates
    )
    return merge(parent, own)


def merge(base: YMap, overlay: YMap) -> YMap:
    """``overlay`` over ``base``: mappings merged key by key, anything else replaced whole.

    Nodes keep their own file and line, so an error still points where the value is written.
    """
    items: list[tuple[YScalar, YNode]] = []
    overlaid = {str(k.value): (k, v) for k, v in overlay.items}
    for key, value in base.items:
        name = str(key.value)
        if name not in overlaid:
            items.append((key, value))
            continue
        new_key, new_value = overlaid.pop(name)
        if isinstance(value, YMap) and isinstance(new_value, YMap):
            new_value = merge(value, new_value)
        items.append((new_key, new_value))
    items.extend(item for item in overlay.items if str(item[0].value) in overlaid)
    return YMap(tuple(items), overlay.mark, base.duplicates + overlay.duplicates)


def _resolve_store(store: Store, base_dir: Path) -> Store:
    """Anchor a relative SQLite path at the configuration's directory, not the CWD."""
    url = store.url.reveal()
    anchored = anchor_sqlite_url(url, base_dir)
    return store if anchored == url else Store(url=Secret(anchored, store.url.source))
