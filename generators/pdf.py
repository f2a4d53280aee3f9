""".docx → PDF/A-2b with LibreOffice headless, in batches, plus PDF reading helpers.

Why batches: one ``soffice`` call per file costs ~0.9 s (start-up); one call converting many
files amortises it (docs/NOTES.md). Two calls run in parallel to use both cores; each has its own
profile (``-env:UserInstallation``) because concurrent processes sharing one profile fail
silently, and each has a timeout. A file that LibreOffice cannot open, or that hangs it, fails
alone: the others of its batch are still converted (a hung batch is killed and the files after
the culprit are retried in a fresh process).

Fonts: ``FONTCONFIG_FILE`` points at ``generators/fonts.conf``, which maps the Windows/WPS
font names kept in the .docx (仿宋_GB2312, 方正小标宋简体, 黑体, 楷体_GB2312, 宋体) to free CJK
faces.

Privacy: the .docx bytes are written to a private (0700) temporary directory that is removed
afterwards; profiles live in a private cache directory and never see document content except
LibreOffice's list of recent file names (which are our neutral ``00001.docx`` names).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import io
import os
import re
import shutil
import signal
import subprocess
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from guanai.base.errors import ExternalToolError, InputError, Problem
from guanai.base.privtmp import private_tmpdir
from guanai.base.proc import scrubbed_env
from guanai.generators.text import error_detail

if TYPE_CHECKING:
    from pypdf import PdfReader

FONTS_CONF = Path(__file__).with_name("fonts.conf")
#: PDF/A-2b (the "b" level is what LibreOffice claims for SelectPdfVersion 2).
PDF_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
#: Force the Word 2007+ import filter: without it LibreOffice happily converts any file
#: (a text file, a spreadsheet) by sniffing its content.
DOCX_INFILTER = "MS Word 2007 XML"
#: Seconds allowed to one soffice process (one batch).
DEFAULT_TIMEOUT = 180.0
DEFAULT_WORKERS = 2
#: Files per soffice call; larger batches amortise start-up further but lose more on a hang.
MAX_BATCH = 100
#: Refuse inputs larger than this before handing them to LibreOffice.
MAX_DOCX_BYTES = 64 * 1024 * 1024
MAX_RETRY_ROUNDS = 3
#: Seconds between looks at the output directories (progress reports).
PROGRESS_INTERVAL = 0.3

INSTALL_HINT = (
    "安装 LibreOffice 与中文字体：apt-get install --no-install-recommends libreoffice-writer-nogui "
    "fonts-noto-cjk fonts-arphic-uming fonts-arphic-ukai（或执行 make system-deps）。"
)

ErrorKind = Literal["input", "tool", "timeout"]


@dataclass(frozen=True)
class ConversionResult:
    """Outcome for one input file of a batch."""

    name: str
    pdf: bytes | None
    error: str | None = None
    error_kind: ErrorKind | None = None

    @property
    def ok(self) -> bool:
        return self.pdf is not None


class ConversionFailed(ExternalToolError):
    """Some files of a batch failed; ``results`` holds the outcome of every file."""

    def __init__(self, message: str, hint: str | None, results: list[ConversionResult]) -> None:
        super().__init__(message, hint, [Problem(r.name, r.error or "未转换", code=f"pdf.{r.error_kind or 'tool'}")
                                         for r in results if not r.ok])
        self.results = results


# --------------------------------------------------------------------------- soffice


def find_soffice() -> str:
    """Path of ``soffice`` (or ``libreoffice``) found on PATH; ExternalToolError when missing."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    raise ExternalToolError("找不到 LibreOffice（soffice），无法生成 PDF。", INSTALL_HINT)


def _cache_dir() -> Path:
    base = os.environ.get("GUANAI_LO_PROFILES")
    if base:
        path = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(xdg) / "guanai" / "lo-profiles"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextlib.contextmanager
def _profile_slot() -> Iterator[Path]:
    """A LibreOffice profile directory used by no other process while held (flock)."""
    base = _cache_dir()
    for i in range(64):
        lock_path = base / f"slot-{i}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            yield base / f"profile-{i}"
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise ExternalToolError("LibreOffice 配置目录全部被占用（并发转换过多）。", "稍后重试。")


_VERSION = re.compile(r"LibreOffice\s+(\d+)\.(\d+)")
_LAST_VERSION_ITEM = (
    '<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion" oor:op="fuse">'
    "<value>{version}</value></prop></item>\n"
)
_EMPTY_XCU = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    "</oor:items>\n"
)


@functools.lru_cache(maxsize=8)
def _lo_version(soffice: str, profile: Path) -> str | None:
    """``"7.4"`` for LibreOffice 7.4.x (``soffice --version``); None if it cannot be told."""
    env = scrubbed_env({"FONTCONFIG_FILE": str(FONTS_CONF)})
    try:
        out = subprocess.run(
            [soffice, f"-env:UserInstallation={profile.as_uri()}", f"--infilter={DOCX_INFILTER}", "--version"],
            stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=60, check=False,
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return None
    m = _VERSION.search(out)
    return f"{m.group(1)}.{m.group(2)}" if m else None


_LAST_VERSION_RE = re.compile(
    r'<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion"[^>]*>'
    r"(?:<value>[^<]*</value>)?</prop></item>\n?"
)
#: Profile file holding the identity of the LibreOffice install whose version was recorded.
STAMP_NAME = "guanai-lo-install"


def _install_stamp(soffice: str) -> str | None:
    """Identity of the LibreOffice install (changes when a package upgrade replaces it)."""
    try:
        st = os.stat(os.path.realpath(soffice))
    except OSError:
        return None
    return f"{os.path.realpath(soffice)}:{st.st_size}:{st.st_mtime_ns}"


def _prepare_profile(soffice: str, profile: Path) -> None:
    """Record the running version as the profile's last version (again after an upgrade).

    LibreOffice runs its ~100 "graphics render tests" at every start whose profile has an
    older (or no) ``ooSetupLastVersion``; only the GUI's what's-new check ever records the
    version, so a headless profile pays them at every start: ~1 s of CPU, more than
    converting ten one-page documents. Recording the version skips them.
    """
    xcu = profile / "user" / "registrymodifications.xcu"
    stamp_file = profile / STAMP_NAME
    stamp = _install_stamp(soffice)

    def current() -> str | None:
        try:
            text = xcu.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _EMPTY_XCU
        except (OSError, UnicodeDecodeError):
            return None
        return text if "</oor:items>" in text else None

    text = current()
    if text is None or stamp is None:
        return
    try:
        recorded = stamp_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        recorded = None
    if recorded == stamp and "ooSetupLastVersion" in text:
        return
    version = _lo_version(soffice, profile)
    text = current()  # read again: the version call may have created the profile
    if version is None or text is None:
        return
    text = _LAST_VERSION_RE.sub("", text)
    text = text.replace("</oor:items>", _LAST_VERSION_ITEM.format(version=version) + "</oor:items>", 1)
    try:
        xcu.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = xcu.with_name(xcu.name + ".guanai-tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(xcu)
        stamp_file.write_text(stamp, encoding="utf-8")
    except OSError:
        return  # only a speed-up: convert with the profile as it is


def _pdf_complete(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        return None
    return data


@dataclass
class _BatchOutcome:
    done: dict[Path, bytes]
    timed_out: bool
    returncode: int | None
    stderr: str


def _run_soffice(soffice: str, files: list[Path], outdir: Path, profile: Path, timeout: float) -> _BatchOutcome:
    _prepare_profile(soffice, profile)
    cmd = [
        soffice,
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        f"--infilter={DOCX_INFILTER}",
        "--convert-to",
        PDF_FILTER,
        "--outdir",
        str(outdir),
        *(str(f) for f in files),
    ]
    # no passphrase, no PYTHON*/LD_* redirection; LibreOffice's own temp files go to the
    # private directory too (TMPDIR), so they are wiped with it
    env = scrubbed_env({"FONTCONFIG_FILE": str(FONTS_CONF), "SAL_USE_VCLPLUGIN": "svp", "TMPDIR": str(outdir)})
    timed_out = False
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=outdir,
            start_new_session=True,  # own process group: a timeout kills soffice.bin too
        )
    except OSError as err:
        raise ExternalToolError(f"无法启动 LibreOffice（{soffice}）：{error_detail(err)}。", INSTALL_HINT) from err
    try:
        _, err_bytes = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _, err_bytes = proc.communicate()
        # A killed instance may leave its profile half-written: start the next one afresh.
        shutil.rmtree(profile, ignore_errors=True)
    done: dict[Path, bytes] = {}
    for f in files:
        data = _pdf_complete(outdir / (f.stem + ".pdf"))
        if data is not None:
            done[f] = data
    stderr = err_bytes.decode("utf-8", "replace")
    return _BatchOutcome(done, timed_out, None if timed_out else proc.returncode, stderr)


def _stderr_tail(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip() and "javaldx" not in ln]
    return "；".join(lines[-3:])


def _convert_chunk(soffice: str, files: list[Path], outdir: Path, timeout: float) -> dict[Path, ConversionResult]:
    """Convert one worker's files (in batches of MAX_BATCH), retrying after a hang."""
    results: dict[Path, ConversionResult] = {}
    with _profile_slot() as profile:
        pending = list(files)
        rounds = 0
        while pending:
            batch, rest = pending[:MAX_BATCH], pending[MAX_BATCH:]
            out = _run_soffice(soffice, batch, outdir, profile, timeout)
            for f, data in out.done.items():
                results[f] = ConversionResult(f.name, data)
            missing = [f for f in batch if f not in out.done]
            if out.timed_out and missing:
                # soffice converts in argument order: the first missing file hung it.
                culprit, retry = missing[0], missing[1:]
                results[culprit] = ConversionResult(
                    culprit.name, None, f"LibreOffice 转换超时（超过 {timeout:g} 秒），已终止。", "timeout"
                )
                rounds += 1
                if rounds > MAX_RETRY_ROUNDS:
                    for f in retry:
                        results[f] = ConversionResult(f.name, None, "LibreOffice 多次超时，未转换。", "timeout")
                    retry = []
                pending = retry + rest
                continue
            detail = _stderr_tail(out.stderr)
            for f in missing:
                if out.returncode not in (0, None) and not out.done:
                    msg = f"LibreOffice 异常退出（退出码 {out.returncode}）" + (f"：{detail}" if detail else "")
                    results[f] = ConversionResult(f.name, None, msg, "tool")
                else:
                    results[f] = ConversionResult(
                        f.name, None, "LibreOffice 无法打开此文件（文件损坏或不是 Word .docx 文档）。", "input"
                    )
            pending = rest
    return results


# --------------------------------------------------------------------------- public API


def _docx_problem(data: bytes) -> str | None:
    """Cheap check before LibreOffice sees the file: a zip holding word/document.xml."""
    if len(data) > MAX_DOCX_BYTES:
        return f"文件过大（{len(data) // (1024 * 1024)} MB，上限 {MAX_DOCX_BYTES // (1024 * 1024)} MB）。"
    if not data.startswith(b"PK"):
        return "不是 Word .docx 文档（不是 ZIP 压缩包；旧版 .doc 或加密文档请先另存为 .docx）。"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if "word/document.xml" not in zf.namelist():
                return "不是 Word .docx 文档（缺少 word/document.xml）。"
    except (zipfile.BadZipFile, ValueError, OSError):
        return "不是有效的 .docx 文档（ZIP 结构损坏）。"
    return None


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W = "{" + W_NS + "}"
#: Elements whose ``w:val`` names a style (paragraph, run, table, numbering links, settings).
_STYLE_REF_TAGS = frozenset(
    _W + t
    for t in ("pStyle", "rStyle", "tblStyle", "numStyle", "styleLink", "numStyleLink", "clickAndTypeStyle",
              "defaultTableStyle")
)
#: Above this much XML a document is converted as it is: trimming would cost more than it saves.
MAX_TRIM_XML_BYTES = 8 * 1024 * 1024


def _xml_parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)


def style_references(xml: bytes) -> set[str] | None:
    """Style ids a part refers to; None when the part is not well-formed XML."""
    from lxml import etree

    try:
        root = etree.fromstring(xml, _xml_parser())
    except etree.XMLSyntaxError:
        return None
    return {el.get(_W + "val") or "" for el in root.iter(*_STYLE_REF_TAGS)}


def slim_styles(styles_xml: bytes, used: set[str]) -> bytes | None:
    """``word/styles.xml`` without latent styles and without styles nothing uses; None if unchanged.

    python-docx's default package (and Word's) carries ~350 KB of style definitions: ~160
    styles and 276 latent-style entries that only feed Word's style gallery. LibreOffice parses
    and imports every one of them for each document, ~100 ms of CPU per one-page document on
    this machine: more than laying out and exporting the page. Styles referenced by ``used``,
    the default styles and everything they inherit from or link to are kept, so rendering is
    unchanged; Word/WPS supply their built-in definitions when a user picks another style.
    """
    from lxml import etree

    try:
        root = etree.fromstring(styles_xml, _xml_parser())
    except etree.XMLSyntaxError:
        return None
    if root.tag != _W + "styles":
        return None
    changed = False
    for latent in root.findall(_W + "latentStyles"):
        root.remove(latent)
        changed = True
    styles = {s.get(_W + "styleId"): s for s in root.findall(_W + "style")}
    keep = {sid for sid in used if sid in styles}
    keep |= {sid for sid, s in styles.items() if s.get(_W + "default") in ("1", "true", "on")}
    todo = list(keep)
    while todo:
        style = styles[todo.pop()]
        for tag in ("basedOn", "link", "next"):
            ref = style.find(_W + tag)
            target = None if ref is None else ref.get(_W + "val")
            if target is not None and target in styles and target not in keep:
                keep.add(target)
                todo.append(target)
    for sid, style in styles.items():
        if sid not in keep:
            root.remove(style)
            changed = True
    if not changed:
        return None
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _slim_package_styles(zin: zipfile.ZipFile, parts: dict[str, bytes]) -> bytes | None:
    """Trimmed styles.xml of a package (``parts`` overrides members already rewritten); None to keep it."""
    xml_parts = [i for i in zin.infolist() if i.filename.startswith("word/") and i.filename.endswith(".xml")
                 and not i.filename.startswith("word/stylesWithEffects")]  # Word 2010's copy of the styles
    if "word/styles.xml" not in {i.filename for i in xml_parts}:
        return None
    if sum(i.file_size for i in xml_parts) > MAX_TRIM_XML_BYTES:
        return None
    used: set[str] = set()
    for info in xml_parts:
        if info.filename == "word/styles.xml":
            continue
        refs = style_references(parts.get(info.filename) or zin.read(info))
        if refs is None:
            return None  # a part we cannot read: do not guess which styles it needs
        used |= refs
    return slim_styles(parts.get("word/styles.xml") or zin.read("word/styles.xml"), used)


_DOC_GRID = re.compile(rb"<w:docGrid\b[^>]*/>")
_GRID_ATTR = re.compile(rb'w:(type|linePitch|charSpace)="([^"]*)"')
_JC_BOTH = re.compile(rb'<w:jc w:val="both"\s*/>')
_COMPAT_PARTS = ("word/document.xml", "word/styles.xml")


def _fix_grid(m: re.Match[bytes]) -> bytes:
    attrs = dict(_GRID_ATTR.findall(m.group(0)))
    space = attrs.get(b"charSpace", b"0")
    if attrs.get(b"type") != b"linesAndChars" or not space.lstrip(b"-").isdigit() or int(space) >= -1:
        return m.group(0)
    pitch = attrs.get(b"linePitch")
    return b'<w:docGrid w:type="lines"' + (b' w:linePitch="' + pitch + b'"' if pitch else b"") + b"/>"


def _lo_compat(data: bytes) -> bytes:
    """Work around two LibreOffice 7.4 rendering bugs and trim unused styles, on the copy handed to it only.

    1. GB/T 9704 templates get 28 characters per line in Word/WPS with a character grid
       (``w:docGrid w:type="linesAndChars" w:charSpace="-819"``: 16 pt - 0.2 pt pitch).
       LibreOffice turns any charSpace below -1 into a cell narrower than a 3号 glyph and gives
       every CJK character two cells: ~13 characters per line, twice the pages. Keeping the line
       grid and dropping the character grid gives 27-28 characters per line.
    2. In a justified paragraph (``w:jc w:val="both"``) LibreOffice drops a punctuation mark that
       hangs past the line end (``，`` after a full line) from the PDF: text is lost. Left
       alignment keeps it; for CJK text the lines look the same.
    3. Latent and unused styles are dropped (``slim_styles``): they cost LibreOffice more time
       than the page itself and do not change the rendering.
    The stored .docx is untouched.
    """
    if not data.startswith(b"PK"):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zin:
            changed: dict[str, bytes] = {}
            for name in _COMPAT_PARTS:
                try:
                    info = zin.getinfo(name)
                except KeyError:
                    continue
                if info.file_size > MAX_DOCX_BYTES:
                    return data
                xml = zin.read(info)
                new = _JC_BOTH.sub(b'<w:jc w:val="left"/>', xml)
                if b'w:charSpace="-' in new:
                    new = _DOC_GRID.sub(_fix_grid, new)
                if new != xml:
                    changed[name] = new
            slim = _slim_package_styles(zin, changed)
            if slim is not None:
                changed["word/styles.xml"] = slim
            if not changed:
                return data
            out = io.BytesIO()
            # Stored, not deflated: this copy only lives in the private temp dir for soffice.
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
                for info in zin.infolist():
                    body = changed.get(info.filename) or zin.read(info)
                    zout.writestr(info.filename, body, compress_type=zipfile.ZIP_STORED)
            return out.getvalue()
    except (zipfile.BadZipFile, ValueError, OSError, RuntimeError, NotImplementedError, EOFError):
        return data  # let LibreOffice report on the original


def _load_inputs(docx_files: Sequence[tuple[str, bytes]] | Sequence[Path] | Sequence[str]) -> list[tuple[str, bytes]]:
    items: list[tuple[str, bytes]] = []
    for entry in docx_files:
        if isinstance(entry, tuple):
            name, data = entry
            items.append((str(name), bytes(data)))
        else:
            path = Path(entry)
            try:
                items.append((path.name, path.read_bytes()))
            except OSError as err:
                raise InputError(f"无法读取 {path}（{error_detail(err)}）。", "检查文件路径与权限。") from err
    return items


def convert_results(
    docx_files: Sequence[tuple[str, bytes]] | Sequence[Path] | Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = DEFAULT_WORKERS,
    progress: Callable[[int], None] | None = None,
) -> list[ConversionResult]:
    """Convert every file; one result per input, in order. Failures are per file, never raised
    (except a missing LibreOffice, which fails everything: ExternalToolError).

    ``progress(n)`` is called in the calling thread as files finish (n files at a time); the
    calls add up to the number of inputs.
    """
    items = _load_inputs(docx_files)
    if not items:
        return []
    reported = 0

    def report(done: int) -> None:
        nonlocal reported
        if progress is not None and done > reported:
            progress(done - reported)
            reported = done
    soffice = find_soffice()
    results: list[ConversionResult | None] = [None] * len(items)
    with private_tmpdir("guanai-pdf-") as tmp_path:  # RAM where possible; swept after a kill
        indir = tmp_path / "in"
        indir.mkdir()
        to_convert: list[tuple[int, Path]] = []

        def prepare(i: int) -> tuple[int, Path | None, str | None]:
            problem = _docx_problem(items[i][1])
            if problem:
                return i, None, problem
            path = indir / f"{i:05d}.docx"  # neutral names: no user-chosen path reaches soffice
            path.write_bytes(_lo_compat(items[i][1]))
            return i, path, None

        # lxml parses without the GIL: trimming foreign documents' styles goes twice as fast on two threads
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as prep_pool:
            for i, path, problem in prep_pool.map(prepare, range(len(items))):
                if path is None:
                    results[i] = ConversionResult(items[i][0], None, problem, "input")
                else:
                    to_convert.append((i, path))
        n_workers = max(1, min(workers, len(to_convert)))
        # Contiguous chunks: each worker converts its share with one soffice process per batch.
        size = -(-len(to_convert) // n_workers) if to_convert else 0
        chunks = [to_convert[k : k + size] for k in range(0, len(to_convert), size)] if size else []
        outdirs = []
        for w in range(len(chunks)):
            outdir = tmp_path / f"out{w}"
            outdir.mkdir()
            outdirs.append(outdir)
        with ThreadPoolExecutor(max_workers=max(1, len(chunks))) as pool:
            futures = [
                pool.submit(_convert_chunk, soffice, [p for _, p in chunk], outdirs[w], timeout)
                for w, chunk in enumerate(chunks)
            ]
            # Poll the output directories for finished PDFs: one soffice call converts a whole
            # batch, so this is the only way to show progress during it.
            while wait(futures, timeout=PROGRESS_INTERVAL).not_done:
                report(len(items) - len(to_convert) + sum(len(list(d.glob("*.pdf"))) for d in outdirs))
            chunk_results = [f.result() for f in futures]
        report(len(items))
        for chunk, res in zip(chunks, chunk_results, strict=True):
            for i, path in chunk:
                r = res[path]
                results[i] = ConversionResult(items[i][0], r.pdf, r.error, r.error_kind)
    return [r if r is not None else ConversionResult(items[i][0], None, "未转换。", "tool") for i, r in enumerate(results)]


def convert_batch(
    docx_files: Sequence[tuple[str, bytes]] | Sequence[Path] | Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = DEFAULT_WORKERS,
) -> list[bytes]:
    """PDF/A-2b bytes for every .docx, in order; ConversionFailed (with every result) if any failed."""
    results = convert_results(docx_files, timeout=timeout, workers=workers)
    failed = [r for r in results if not r.ok]
    if failed:
        raise ConversionFailed(
            f"{len(failed)} 个文件未能转换为 PDF",
            "检查这些文件能否用 Word/WPS 打开；超时可加大 timeout。其余文件已转换。",
            results,
        )
    return [r.pdf for r in results if r.pdf is not None]


def convert_one(docx: bytes | Path, *, name: str = "document.docx", timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """PDF/A-2b bytes of one .docx (InputError for a broken file, ExternalToolError otherwise)."""
    entry = (name, docx) if isinstance(docx, bytes) else _load_inputs([Path(docx)])[0]
    result = convert_results([entry], timeout=timeout, workers=1)[0]
    if result.pdf is not None:
        return result.pdf
    if result.error_kind == "input":
        raise InputError(f"{result.name}：{result.error}", "用 Word/WPS 打开检查该文件，或重新生成。")
    raise ExternalToolError(f"{result.name}：{result.error}", "检查 LibreOffice 安装；超时可加大 timeout。")


# --------------------------------------------------------------------------- reading PDFs

_CJK = r"\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])[ \t\u00a0]+|[ \t\u00a0]+(?=[{_CJK}])")


def normalize_text(text: str) -> str:
    """Drop the spaces pypdf puts at CJK/Latin boundaries (``2016 年9 月`` → ``2016年9月``)."""
    return _SPACE_NEAR_CJK.sub("", text)


def _reader(pdf_bytes: bytes) -> PdfReader:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return PdfReader(io.BytesIO(pdf_bytes), strict=False)
    except (PdfReadError, ValueError, OSError) as err:
        raise InputError(f"无法读取 PDF（{error_detail(err)}）", "文件可能已损坏或不是 PDF。") from err


def pdf_text(pdf_bytes: bytes) -> str:
    """Text of every page (pages separated by a form feed), CJK spacing normalised."""
    from pypdf.errors import PdfReadError

    reader = _reader(pdf_bytes)
    try:
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"无法提取 PDF 文本（{error_detail(err)}）", "文件可能已损坏。") from err
    return "\f".join(normalize_text(p) for p in pages)


def pdf_fonts(pdf_bytes: bytes) -> set[str]:
    """Base names of the fonts used by the pages (subset prefixes like ``ABCDEF+`` removed)."""
    from pypdf.errors import PdfReadError

    reader = _reader(pdf_bytes)
    names: set[str] = set()
    try:
        for page in reader.pages:
            resources = page.get("/Resources")
            if resources is None:
                continue
            fonts = resources.get_object().get("/Font")
            if fonts is None:
                continue
            for ref in fonts.get_object().values():
                font = ref.get_object()
                base = str(font.get("/BaseFont", ""))
                names.add(re.sub(r"^/?[A-Z]{6}\+", "", base).lstrip("/"))
    except (PdfReadError, AttributeError, KeyError, TypeError, ValueError) as err:
        raise InputError(f"无法读取 PDF 字体信息（{error_detail(err)}）", "文件可能已损坏。") from err
    return names


def pdfa_claim(pdf_bytes: bytes) -> str | None:
    """The PDF/A level the XMP metadata claims, e.g. ``"2B"``; None when it claims none."""
    reader = _reader(pdf_bytes)
    try:
        root: Any = reader.trailer["/Root"].get_object()
        meta = root.get("/Metadata")
        if meta is None:
            return None
        xmp = meta.get_object().get_data().decode("utf-8", "replace")
    except (KeyError, AttributeError, ValueError) as err:
        raise InputError(f"无法读取 PDF 元数据（{error_detail(err)}）", "文件可能已损坏。") from err
    part = re.search(r"pdfaid:part\s*(?:=\s*[\"'](\d)[\"']|>\s*(\d)\s*<)", xmp)
    conf = re.search(r"pdfaid:conformance\s*(?:=\s*[\"']([A-Za-z])[\"']|>\s*([A-Za-z])\s*<)", xmp)
    if part is None:
        return None
    level = part.group(1) or part.group(2)
    if conf is not None:
        level += (conf.group(1) or conf.group(2)).upper()
    return level
