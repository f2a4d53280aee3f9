"""Fast, sandboxed docxtpl-compatible renderer: ``render(kind, form) -> .docx bytes``.

Semantics are docxtpl's (same tag syntax: ``{{ }}``, ``{% %}``, ``{%p %}``, ``{%tr %}``; the XML is
prepared with docxtpl's own ``patch_xml``), with these differences, all deliberate (docs/NOTES.md):

- Jinja runs in an ``ImmutableSandboxedEnvironment`` with autoescape and ``StrictUndefined``;
  templates are checked statically for ``_``-attributes before they are compiled, so
  ``{{ ''.__class__.__mro__ }}`` or ``cycler.__init__.__globals__`` are refused with a message.
- Values are normalised by the form models (control characters removed, ``\\t \\a \\f`` turned
  into spaces/line breaks) so docxtpl's "listing" side channel cannot change the layout.
- The rendered XML is parsed strictly (lxml without ``recover``); docxtpl's recovering re-parse,
  which drops data silently, never happens.
- Each template is read, patched and compiled once and cached (keyed by path, size, mtime); zip
  members that have no Jinja in them are copied as their compressed bytes; the output zip is
  written with fixed timestamps, so the same form gives the same bytes.

Not supported: ``{%tc %}`` column loops (no gridCol fix-up), RichText, InlineImage, Subdoc, and
Jinja in docProps (copied unchanged).
"""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from lxml import etree
from pydantic import ValidationError

from guanai.base.errors import InputError
from guanai.base.proc import scrubbed_env
from guanai.generators.forms import FormBase, FormError, normalise_text, problems_from
from guanai.generators.kinds import Kind, get_kind
from guanai.generators.text import error_detail

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024
MAX_PART_BYTES = 10 * 1024 * 1024
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00


def bundled_template_dir() -> Path:
    from guanai.generators.assets import TEMPLATE_DIR

    return TEMPLATE_DIR


# --------------------------------------------------------------------------- Jinja environment

_CN_DIGITS = "零一二三四五六七八九"


def cn_num(value: Any) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (for 公文 headings “（一）”)."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return str(value)
    if n < 0 or n >= 100:
        return str(n)
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def make_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=True, undefined=StrictUndefined, finalize=_finalize, keep_trailing_newline=True
    )
    # Generators a template has no business with (lipsum burns CPU; cycler/joiner are object handles).
    for name in ("lipsum", "cycler", "joiner", "namespace"):
        env.globals.pop(name, None)
    env.filters["cn_num"] = cn_num
    return env


_ENV = make_env()


def unsafe_expressions(ast: nodes.Template) -> list[str]:
    """Attribute/item accesses to names starting with '_' (the way out of every sandbox escape)."""
    found = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            found.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            found.append(node.arg.value)
    return found


# --------------------------------------------------------------------------- compiled templates


@dataclass
class _Member:
    name: bytes
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    data: bytes  # compressed bytes (raw members) — empty for rendered parts
    template: Any = None  # jinja Template for parts with tags
    decl: str = ""  # the XML declaration kept out of Jinja


@dataclass
class CompiledTemplate:
    path: Path
    members: list[_Member]
    variables: set[str]


_CACHE: dict[tuple[str, int, int], CompiledTemplate] = {}
_CACHE_LOCK = threading.Lock()


def _is_renderable(name: str) -> bool:
    return name == "word/document.xml" or bool(re.fullmatch(r"word/(header|footer)\d*\.xml|word/footnotes\.xml", name))


def _patch(xml: str) -> str:
    from docxtpl import DocxTemplate

    patched: str = DocxTemplate.patch_xml(None, xml)
    # docxtpl's escapes for literal braces, resolved in the template (not in the output, where a
    # value containing "{_{" would otherwise be altered)
    for esc, lit in (("{_{", "{{"), ("}_}", "}}"), ("{_%", "{%"), ("%_}", "%}")):
        patched = patched.replace(esc, "{{ '" + lit + "' }}")
    # docxtpl does this too: one paragraph per line, so Jinja errors point at a paragraph
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)


def _raw_member(zf: zipfile.ZipFile, raw: bytes, info: zipfile.ZipInfo) -> _Member:
    off = info.header_offset
    name_len, extra_len = struct.unpack("<HH", raw[off + 26 : off + 30])
    start = off + 30 + name_len + extra_len
    data = raw[start : start + info.compress_size]
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # re-deflate members in other methods (rare) so readers without bzip2/lzma cope
        content = zf.read(info.filename)
        data = _deflate(content)
        return _Member(info.filename.encode("utf-8"), 0x800, 8, zlib.crc32(content), len(data), len(content), data)
    return _Member(info.filename.encode("utf-8"), 0x800, info.compress_type, info.CRC, info.compress_size,
                   info.file_size, data)


def compile_template(path: Path) -> CompiledTemplate:
    """Read, patch, statically check and compile a .docx template (cached)."""
    try:
        st = path.stat()
    except OSError as err:
        raise InputError(f"找不到模板文件 {path}。", "检查 --templates 目录中是否有该种类的 .docx 模板。") from err
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    if st.st_size > MAX_TEMPLATE_BYTES:
        raise InputError(f"模板 {path.name} 过大（{st.st_size // 1024} KB）。", "模板不应超过 20 MB。")
    raw = path.read_bytes()
    members: list[_Member] = []
    variables: set[str] = set()
    try:
        zf = zipfile.ZipFile(_bytes_io(raw))
        infos = zf.infolist()
    except zipfile.BadZipFile as err:
        raise InputError(f"模板 {path.name} 不是有效的 .docx 文件（{error_detail(err)}）。", "用 Word/WPS 另存为 .docx 后再试。") from err
    names = [i.filename for i in infos]
    if "word/document.xml" not in names:
        raise InputError(f"模板 {path.name} 缺少 word/document.xml，不是 Word 文档。", "用 Word/WPS 另存为 .docx 后再试。")
    for info in infos:
        if _is_renderable(info.filename):
            if info.file_size > MAX_PART_BYTES:
                raise InputError(f"模板 {path.name} 的 {info.filename} 过大。", "模板正文不应超过 10 MB。")
            text = zf.read(info.filename).decode("utf-8")
            if "{{" in text or "{%" in text or "{#" in text:
                decl = ""
                m = re.match(r"<\?xml[^>]*\?>\s*", text)
                if m:
                    decl, text = m.group(0).strip(), text[m.end():]
                src = _patch(text)
                try:
                    ast = _ENV.parse(src)
                except TemplateSyntaxError as err:
                    raise InputError(
                        f"模板 {path.name} 有语法错误：{err.message}（{_near(src, err.lineno)}）。",
                        "检查 {{ }} 与 {% %} 是否成对、拼写是否正确；可用 `guanai template check` 检查。",
                    ) from err
                bad = unsafe_expressions(ast)
                if bad:
                    raise InputError(
                        f"模板 {path.name} 含有不安全的表达式（访问 {', '.join(sorted(set(bad)))}），已拒绝。",
                        "模板中只能使用表单字段，不能访问以下划线开头的属性。",
                    )
                variables |= meta.find_undeclared_variables(ast)
                template = _ENV.from_string(src)
                members.append(_Member(info.filename.encode("utf-8"), 0x800, 8, 0, 0, 0, b"", template, decl))
                continue
        members.append(_raw_member(zf, raw, info))
    compiled = CompiledTemplate(path, members, variables)
    with _CACHE_LOCK:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = compiled
    return compiled


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def _near(src: str, lineno: int | None) -> str:
    if not lineno:
        return "位置不明"
    lines = src.splitlines()
    line = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    text = re.sub(r"<[^>]+>", "", line).strip()
    return f"附近文字：“{text[:60]}”" if text else f"第 {lineno} 段"


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


# --------------------------------------------------------------------------- rendering

_T_WITH_NL = re.compile(r"(<w:t(?: [^>]*)?>)([^<]*\n[^<]*)</w:t>")
_PARSER = etree.XMLParser(recover=False, resolve_entities=False, no_network=True, huge_tree=False)


def _line_breaks(m: re.Match[str]) -> str:
    inner = m.group(2).replace("\n", '</w:t><w:br/><w:t xml:space="preserve">')
    return f'<w:t xml:space="preserve">{inner}</w:t>'


@dataclass
class Rendered:
    data: bytes
    text: str


def _render_part(member: _Member, ctx: Mapping[str, Any], template_name: str) -> tuple[bytes, Any]:
    try:
        out = member.template.render(ctx)
    except SecurityError as err:
        raise InputError(f"模板 {template_name} 试图执行不安全的操作，已拒绝：{err}",
                         "模板中只能使用表单字段；请改用项目自带的模板或修正模板。") from err
    except UndefinedError as err:
        raise InputError(f"模板 {template_name} 使用了表单中没有的变量：{err.message}",
                         "用 `guanai template check 模板.docx --kind 种类` 列出未知变量。") from err
    except TemplateError as err:
        raise InputError(f"模板 {template_name} 渲染失败：{err}", "检查模板中的 {% %} 标签。") from err
    except (TypeError, ValueError, ArithmeticError, OverflowError, AttributeError) as err:
        raise InputError(f"模板 {template_name} 渲染失败：{type(err).__name__}: {err}",
                         "检查模板中的表达式。") from err
    # undo the one-paragraph-per-line split (values cannot contain "\n<w:p": "<" is escaped)
    out = out.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
    if "\n" in out:
        out = _T_WITH_NL.sub(_line_breaks, out)
    body = out.encode("utf-8")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as err:
        # Never "recover": a recovering parser silently drops whole tables (docs/NOTES.md).
        raise InputError(
            f"模板 {template_name} 渲染出的 {member.name.decode()} 不是合法的 XML（{err.msg}），未生成文档。",
            "模板中的标签可能拆开了 Word 的段落或表格结构；用项目自带模板对比检查。",
        ) from err
    xml = (member.decl + "\n").encode("utf-8") + body if member.decl else body
    return xml, root


def render_compiled(compiled: CompiledTemplate, ctx: Mapping[str, Any]) -> Rendered:
    local = bytearray()
    central = bytearray()
    count = 0
    text = ""
    for m in compiled.members:
        if m.template is not None:
            xml, root = _render_part(m, ctx, compiled.path.name)
            if m.name == b"word/document.xml":
                from guanai.generators.text import xml_text

                text = xml_text(root)
            data = _deflate(xml)
            crc, csize, usize, method = zlib.crc32(xml), len(data), len(xml), 8
        else:
            data, crc, csize, usize, method = m.data, m.crc, m.csize, m.usize, m.method
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, m.flags, method, _DOS_TIME, _DOS_DATE,
                             crc, csize, usize, len(m.name), 0)
        local += m.name
        local += data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m.flags, method, _DOS_TIME,
                               _DOS_DATE, crc, csize, usize, len(m.name), 0, 0, 0, 0, 0o644 << 16, offset)
        central += m.name
        count += 1
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(local), 0)
    return Rendered(bytes(local + central + end), text)


def validate(kind: Kind | str, form: FormBase | Mapping[str, Any], *, source: str = "表单",
             row: int | None = None, columns: dict[str, str] | None = None) -> FormBase:
    """Form model instance of ``kind`` (FormError with Chinese problems when invalid)."""
    k = get_kind(kind) if isinstance(kind, str) else kind
    if isinstance(form, k.model):
        model = form
    elif isinstance(form, FormBase):
        raise InputError(f"表单类型 {type(form).__name__} 与种类 {k.id} 不符。")
    else:
        try:
            model = k.model.model_validate(dict(form))
        except ValidationError as err:
            raise FormError(problems_from(err, k.model, source=source, row=row, columns=columns),
                            f"按提示改正后重试；`guanai form template {k.id} --xlsx -o 台账.xlsx`（或 --json、--yaml）"
                            "可得到带示例的空白表单。") from None
    if k.to_family:
        check_no_labels(k, model, source=source, row=row)
    return model


def check_no_labels(kind: Kind, form: FormBase, *, source: str = "表单", row: int | None = None) -> None:
    """避免标签化: documents for families/posted must not call a child 留守 or 困境."""
    from guanai.generators.forms import FieldProblem, find_labels

    problems = []
    data = form.to_form_dict()
    for field, value in _walk(data):
        for word in find_labels(value):
            problems.append(FieldProblem(source, row, None, field,
                                         f"含有“{word}”字样；{kind.name}送给家庭，不得给儿童贴“留守”“困境”标签",
                                         "form.label"))
    if problems:
        raise FormError(problems, "改用中性的说法（如“外出务工家庭”），避免标签化。")


def _walk(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _walk(v, f"{path} › {k}" if path else str(k))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _walk(v, f"{path} › 第{i + 1}项")]
    return []


def template_file(kind: Kind, template_dir: Path | None) -> Path:
    return (template_dir or bundled_template_dir()) / kind.template


def render_document(kind: Kind | str, form: FormBase | Mapping[str, Any], template_dir: Path | None = None) -> Rendered:
    """Validate, render in-process; bytes and the document's text."""
    k = get_kind(kind) if isinstance(kind, str) else kind
    model = validate(k, form)
    compiled = compile_template(template_file(k, template_dir))
    return render_compiled(compiled, model.context())


def render(kind: str, form: FormBase | Mapping[str, Any], template_dir: Path | None = None) -> bytes:
    """The .docx bytes of ``form`` rendered with the template of ``kind`` (same form → same bytes)."""
    return render_document(kind, form, template_dir).data


# --------------------------------------------------------------------------- isolation

#: Seconds allowed per document (plus a fixed start-up allowance) for user-supplied templates.
ISOLATED_SECONDS_PER_DOC = 2.0
ISOLATED_STARTUP_SECONDS = 15.0
ISOLATED_MEMORY_BYTES = 1024 * 1024 * 1024


@dataclass
class IsolatedResult:
    rendered: Rendered | None
    error: InputError | None


def _limit_resources(cpu_seconds: int) -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ISOLATED_MEMORY_BYTES, ISOLATED_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def render_isolated(kind: Kind | str, forms: Sequence[FormBase], template: Path,
                    timeout: float | None = None) -> list[IsolatedResult]:
    """Render validated forms with a user-supplied template in a child process.

    The sandbox blocks escapes but does not bound CPU or memory ({% for %} nested loops,
    huge strings), so a school's own template runs with rlimits and a timeout.
    """
    k = get_kind(kind) if isinstance(kind, str) else kind
    if not forms:
        return []
    limit = timeout or (ISOLATED_STARTUP_SECONDS + ISOLATED_SECONDS_PER_DOC * len(forms))
    payload = json.dumps({"kind": k.id, "template": str(template),
                          "forms": [f.model_dump(mode="json") for f in forms]}, ensure_ascii=False)
    try:
        # -I: isolated mode (no current-directory or user-site imports, PYTHON* variables ignored);
        # the environment is scrubbed so the worker never sees the passphrase.
        proc = subprocess.run(
            [sys.executable, "-I", "-m", "guanai.generators.render", "--worker"],
            input=payload.encode("utf-8"), capture_output=True, timeout=limit, env=scrubbed_env(),
            cwd=tempfile.gettempdir(),
            preexec_fn=lambda: _limit_resources(int(limit) + 1), check=False,
        )
    except subprocess.TimeoutExpired:
        err = InputError(f"自定义模板渲染超时（超过 {limit:.0f} 秒），已终止。",
                         "模板中可能有过大的循环；用 `guanai template check` 检查或改用自带模板。")
        return [IsolatedResult(None, err) for _ in forms]
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        reason = "超出内存或 CPU 限制" if proc.returncode < 0 or "MemoryError" in tail[0] else tail[0][:200]
        err = InputError(f"自定义模板渲染失败（{reason}）。", "检查模板，或改用项目自带的模板。")
        return [IsolatedResult(None, err) for _ in forms]
    results = []
    for item in json.loads(proc.stdout.decode("utf-8")):
        if "error" in item:
            results.append(IsolatedResult(None, InputError(item["error"], item.get("hint"))))
        else:
            results.append(IsolatedResult(Rendered(base64.b64decode(item["data"]), item["text"]), None))
    return results


def _worker() -> int:  # pragma: no cover - exercised through render_isolated
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    k = get_kind(req["kind"])
    out = []
    try:
        compiled = compile_template(Path(req["template"]))
    except InputError as err:
        out = [{"error": err.message, "hint": err.hint} for _ in req["forms"]]
        sys.stdout.write(json.dumps(out, ensure_ascii=False))
        return 0
    for data in req["forms"]:
        try:
            model = k.model.model_validate(data)
            r = render_compiled(compiled, model.context())
            out.append({"data": base64.b64encode(r.data).decode("ascii"), "text": r.text})
        except InputError as err:
            out.append({"error": err.message, "hint": err.hint})
    sys.stdout.write(json.dumps(out, ensure_ascii=False))
    return 0


@dataclass
class TemplateReport:
    file: str
    kind: str
    unknown: list[str]
    missing: list[str]
    unused: list[str]
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not (self.unknown or self.missing or self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "ok": self.ok, "unknown": self.unknown,
                "missing": self.missing, "unused": self.unused, "errors": self.errors}


def check_template(path: Path, kind: Kind | str, *, trial: bool = True) -> TemplateReport:
    """Unknown variables, unused required fields, syntax/safety errors and a trial render with
    the kind's sample form — all in the limited child process: compiling a school's template
    already runs its code (Jinja folds constant expressions such as ``9**9**9`` at compile time).
    """
    k = get_kind(kind) if isinstance(kind, str) else kind
    limit = ISOLATED_STARTUP_SECONDS + ISOLATED_SECONDS_PER_DOC
    payload = json.dumps({"kind": k.id, "template": str(Path(path).resolve()), "trial": trial}, ensure_ascii=False)
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-m", "guanai.generators.render", "--check"],
            input=payload.encode("utf-8"), capture_output=True, timeout=limit, env=scrubbed_env(),
            cwd=tempfile.gettempdir(), preexec_fn=lambda: _limit_resources(int(limit) + 1), check=False,
        )
    except subprocess.TimeoutExpired:
        return TemplateReport(str(path), k.id, [], [], [], [f"检查模板超时（超过 {limit:.0f} 秒），已终止：模板中可能有过大的计算或循环。"])
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        reason = "超出内存或 CPU 限制" if proc.returncode < 0 or "MemoryError" in tail[0] else tail[0][:200]
        return TemplateReport(str(path), k.id, [], [], [], [f"检查模板失败（{reason}）。"])
    d = json.loads(proc.stdout.decode("utf-8"))
    return TemplateReport(str(path), k.id, d["unknown"], d["missing"], d["unused"], d["errors"])


def _check_here(path: Path, kind: Kind | str, *, trial: bool = True) -> TemplateReport:
    """The checks of :func:`check_template`, in this process (the worker)."""
    from guanai.generators.formsio import example_form

    k = get_kind(kind) if isinstance(kind, str) else kind
    sample = k.model.model_validate(example_form(k))
    known = set(sample.context()) | set(_ENV.globals)
    report = TemplateReport(str(path), k.id, [], [], [], [])
    try:
        compiled = compile_template(Path(path))
    except InputError as err:
        report.errors.append(err.message)
        return report
    used = compiled.variables
    report.unknown = sorted(used - known)
    for name, info in k.model.model_fields.items():
        if name not in used:
            label = f"{info.alias or name}（{name}）"
            (report.missing if info.is_required() else report.unused).append(label)
    if trial and not report.unknown:
        try:
            render_compiled(compiled, sample.context())
        except InputError as err:
            report.errors.append(err.message)
    return report


def _check_worker() -> int:  # pragma: no cover - exercised through check_template
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    report = _check_here(Path(req["template"]), req["kind"], trial=bool(req.get("trial", True)))
    sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False))
    return 0


def sanitize_value(value: Any) -> Any:
    """Normalise a raw value the way form models do (for contexts built by hand)."""
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, dict):
        return {k: sanitize_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitize_value(v) for v in value]
    return value


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--worker"]:
        sys.exit(_worker())
    if sys.argv[1:] == ["--check"]:
        sys.exit(_check_worker())
    sys.exit(2)
