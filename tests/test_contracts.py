"""docs/CONTRACTS.md against the code: every documented signature is the real one."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "CONTRACTS.md"
_IMPORT = re.compile(r"^from (guanai(?:\.\w+)+) import (.+)$")
_CALL = re.compile(r"^([A-Za-z_]\w*(?:\.\w+)?)\(")


def _blocks(text: str) -> list[list[str]]:
    return [b.splitlines() for b in re.findall(r"```python\n(.*?)```", text, re.S)]


def _strip_comment(line: str) -> str:
    return re.split(r"\s{2,}#|^#", line, maxsplit=1)[0].rstrip()


def documented() -> list[tuple[str, str, Any]]:
    """(documented line, qualified name, object) for every signature line of the document."""
    out = []
    for block in _blocks(DOC.read_text(encoding="utf-8")):
        names: dict[str, Any] = {}
        for line in block:
            m = _IMPORT.match(line)
            if m:
                module = importlib.import_module(m.group(1))
                for name in (n.strip() for n in m.group(2).split(",")):
                    names[name] = (f"{m.group(1)}.{name}", getattr(module, name))
        for line in block:
            m = _CALL.match(line)
            if not m:
                continue
            head, _, attr = m.group(1).partition(".")
            assert head in names, f"CONTRACTS.md: {head} is not imported in its block: {line}"
            qual, obj = names[head]
            if attr:
                qual, obj = f"{qual}.{attr}", getattr(obj, attr)
            out.append((_strip_comment(line), qual, obj))
    return out


def _norm(expr: str | None) -> str | None:
    return None if expr is None else ast.unparse(ast.parse(expr, mode="eval"))


def _parse(line: str) -> tuple[list[tuple[str, str, str | None, str | None]], str | None]:
    """Parameters (name, kind, annotation, default source) and the return annotation of a line."""
    name_end = line.index("(")
    tree = ast.parse(f"def f{line[name_end:]}: pass")
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    params: list[tuple[str, str, str | None, str | None]] = []
    pos = a.posonlyargs + a.args
    pos_defaults: list[ast.expr | None] = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(pos, pos_defaults, strict=True):
        params.append((arg.arg, "positional", _src(arg.annotation), _src(d)))
    if a.vararg:
        params.append((a.vararg.arg, "var_positional", _src(a.vararg.annotation), None))
    for arg, kd in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        params.append((arg.arg, "keyword_only", _src(arg.annotation), _src(kd)))
    if a.kwarg:
        params.append((a.kwarg.arg, "var_keyword", _src(a.kwarg.annotation), None))
    return params, _src(fn.returns)


def _src(node: ast.AST | None) -> str | None:
    return None if node is None else ast.unparse(node)


_KINDS = {inspect.Parameter.POSITIONAL_ONLY: "positional", inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
          inspect.Parameter.VAR_POSITIONAL: "var_positional", inspect.Parameter.KEYWORD_ONLY: "keyword_only",
          inspect.Parameter.VAR_KEYWORD: "var_keyword"}


def _annotation(value: Any) -> str | None:
    if value is inspect.Parameter.empty:
        return None
    return _norm(value if isinstance(value, str) else inspect.formatannotation(value))


def _default_matches(doc: str, real: Any, func: Any) -> bool:
    try:
        return bool(ast.literal_eval(doc) == real)
    except ValueError:
        namespace = getattr(inspect.unwrap(func), "__globals__", {})
        return doc in namespace and namespace[doc] == real


LINES = documented()


def test_the_document_lists_the_main_seams() -> None:
    quals = {q for _, q, _ in LINES}
    assert len(LINES) >= 60
    for must in ("guanai.archive.store.Archive.open", "guanai.archive.documents.export_documents",
                 "guanai.archive.transfer.export_package", "guanai.generators.generate.generate_batch",
                 "guanai.search.api.run_search", "guanai.base.errors.Problem"):
        assert must in quals


@pytest.mark.parametrize(("line", "qual", "obj"), LINES, ids=[q for _, q, _ in LINES])
def test_documented_signature_is_the_real_one(line: str, qual: str, obj: Any) -> None:
    sig = inspect.signature(obj)
    real = list(sig.parameters.values())
    if inspect.isfunction(inspect.getattr_static(_owner(qual), qual.rsplit(".", 1)[1], None)) and real \
            and real[0].name == "self":
        real = real[1:]
    params, returns = _parse(line)
    assert [p[0] for p in params] == [p.name for p in real], f"{qual}: parameter names differ"
    for (name, kind, ann, default), p in zip(params, real, strict=True):
        assert kind == _KINDS[p.kind], f"{qual}({name}): kind"
        assert _norm(ann) == _annotation(p.annotation), f"{qual}({name}): annotation"
        if default is None:
            assert p.default is inspect.Parameter.empty, f"{qual}({name}): the code has a default"
        else:
            assert p.default is not inspect.Parameter.empty, f"{qual}({name}): the code has no default"
            assert _default_matches(default, p.default, obj), f"{qual}({name}): default {default} != {p.default!r}"
    assert _norm(returns) == _annotation(sig.return_annotation), f"{qual}: return annotation"


def _owner(qual: str) -> Any:
    module_name, _, rest = qual.rpartition(".")
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError:
        mod, _, cls = module_name.rpartition(".")
        return getattr(importlib.import_module(mod), cls)


def test_a_wrong_signature_is_caught() -> None:
    from guanai.archive.documents import export_documents

    params, _ = _parse("export_documents(arc: Archive, refs: list[str], out: Path | str, *, force: bool = True) -> list[Path]")
    real = inspect.signature(export_documents).parameters["force"]
    assert not _default_matches(params[3][3] or "", real.default, export_documents)
    params, _ = _parse("export_documents(arc: Archive, refs: list[str], out: str) -> list[Path]")
    assert _norm(params[2][2]) != _annotation(inspect.signature(export_documents).parameters["out"].annotation)
