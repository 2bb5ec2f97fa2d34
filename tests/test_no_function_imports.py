"""No govflow module imports another govflow package from inside a function.

An import hidden in a function body is a dependency the import contracts of pyproject.toml see but a reader does not,
and usually a cycle papered over: the shared concepts live in packages of their own (organisations, interests) so that
every domain imports what it needs at the top of the module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import govflow

ROOT = Path(govflow.__file__).parent

# Kept small, each with its reason. (file relative to govflow/, imported package or None for any)
ALLOWED = {
    # The app factory and the registry builder import every blueprint and workflow plugin only when an app is built.
    ("__init__.py", None),
    # Each command imports what it needs when it runs: starting the CLI loads neither the app nor every domain.
    ("cli.py", None),
    # accounts.views imports web (its error page, the session token): registering its 429 handler at import time would
    # be a real cycle.
    ("web.py", "govflow.accounts"),
}


def _module_name(path: Path) -> str:
    parts = ["govflow", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(module: str) -> str:
    """The govflow package a module belongs to: ``govflow.charters`` for ``govflow.charters.views``, the module itself
    for a top-level module such as ``govflow.web``."""
    return ".".join(module.split(".")[:2])


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The absolute names of the modules an import statement reads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        return [node.module or ""]
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    if node.module:
        return [".".join([*base, node.module])]
    # ``from . import name``: a submodule when there is one, else a name the package itself defines.
    return [".".join([*base, alias.name]) if _is_module([*base, alias.name]) else ".".join(base) for alias in node.names]


def _is_module(parts: list[str]) -> bool:
    path = ROOT.joinpath(*parts[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _function_imports(tree: ast.AST):
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    yield node


def test_no_function_body_imports_another_govflow_package():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        module = _module_name(path)
        own = _package_of(module)
        seen = set()
        for node in _function_imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if (node.lineno, node.col_offset) in seen:  # a nested function's import is walked from its parent too
                continue
            seen.add((node.lineno, node.col_offset))
            for name in _imported(node, module, path.name == "__init__.py"):
                if not name.startswith("govflow.") or _package_of(name) == own:
                    continue
                if (relative, None) in ALLOWED or (relative, _package_of(name)) in ALLOWED:
                    continue
                found.append(f"govflow/{relative}:{node.lineno}: imports {name} inside a function")
    assert not found, "Import these at the top of the module (or fix the cycle that kept them in a function):\n" + "\n".join(found)


def test_the_check_sees_relative_and_absolute_imports():
    source = "def f():\n    from ..charters.services import x\n    from govflow.reviews import services\n    from . import y\n    import govflow.sandbox\n"
    module = "govflow.organisations.services"
    names = [n for node in _function_imports(ast.parse(source)) for n in _imported(node, module, False)]
    assert names == ["govflow.charters.services", "govflow.reviews", "govflow.organisations", "govflow.sandbox"]
    assert _imported(ast.parse("from . import uploads").body[0], "govflow.organisations.services", False) == ["govflow.organisations.uploads"]
    assert _imported(ast.parse("from . import web, create_app").body[0], "govflow", True) == ["govflow.web", "govflow"]
