"""The review page's floor plan: module-level endpoints in a routes table, a factory that only wires,
and no function longer than 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

from starlette.routing import Route

import edumon.web
from edumon.web.routes import ROUTES

WEB = Path(edumon.web.__file__).parent


def test_no_function_in_the_review_page_is_longer_than_80_lines() -> None:
    long = []
    for path in sorted(WEB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 80:
                    long.append(f"{path.relative_to(WEB)}:{node.name} {n} lines")
    assert not long, long


def test_every_endpoint_is_a_module_level_function_in_views() -> None:
    for r in ROUTES:
        assert isinstance(r, Route)
        fn = r.endpoint
        assert fn.__module__.startswith("edumon.web.views."), (r.path, fn.__module__)
        assert "<locals>" not in fn.__qualname__, (r.path, fn.__qualname__)
