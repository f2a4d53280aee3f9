"""generators.pdf against a fake ``soffice`` on PATH: timeouts, hangs, crashes, missing tool.

These run without LibreOffice; they pin down the batch logic (a hang kills only its culprit,
the rest of the batch is retried; a missing tool is a clear ExternalToolError).
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
import zipfile
from pathlib import Path

import pytest

from guanai.base.errors import ExternalToolError, InputError
from guanai.generators import pdf as P

FAKE = """#!{python}
import json, os, re, sys, time, pathlib
# settings come from fake.json beside this script: the converter scrubs the environment
_conf = pathlib.Path(__file__).with_name("fake.json")
conf = json.loads(_conf.read_text()) if _conf.exists() else {{}}
if conf.get("FAKE_SOFFICE_ENV_DUMP"):
    pathlib.Path(conf["FAKE_SOFFICE_ENV_DUMP"]).write_text(json.dumps(dict(os.environ)))
args = sys.argv[1:]
if "--version" in args:
    print("LibreOffice 7.4.7.2 40(Build:2)")
    sys.exit(0)
log = conf.get("FAKE_SOFFICE_LOG")
if log:
    with open(log, "a") as fh:
        fh.write(str(os.getpid()) + " " + " ".join(a for a in args if a.endswith(".docx")) + "\\n")
if conf.get("FAKE_SOFFICE_CRASH"):
    sys.stderr.write("soffice.bin: fatal error\\n")
    sys.exit(81)
assert any(a.startswith("-env:UserInstallation=file://") for a in args)
assert "--infilter=MS Word 2007 XML" in args
assert os.environ["FONTCONFIG_FILE"].endswith("fonts.conf")
out = pathlib.Path(args[args.index("--outdir") + 1])
for a in args:
    if not a.endswith(".docx"):
        continue
    data = pathlib.Path(a).read_bytes()
    if b"HANG" in data:
        time.sleep(60)
    time.sleep(float(conf.get("FAKE_SOFFICE_DELAY", "0")))
    if b"BAD" in data:
        sys.stderr.write("Error: source file could not be loaded\\n")
        continue
    marker = re.search(rb"ok-[0-9]+", data)
    body = marker.group(0) if marker else b""
    (out / (pathlib.Path(a).stem + ".pdf")).write_bytes(b"%PDF-1.7\\n" + body + b"\\n%%EOF\\n")
"""


def _doc(marker: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("word/document.xml", f"<w:document>{marker}</w:document>")
    return buf.getvalue()


@pytest.fixture
def fake_soffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "soffice"
    exe.write_text(FAKE.format(python=sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("GUANAI_LO_PROFILES", str(tmp_path / "profiles"))
    log = tmp_path / "calls.log"
    fake_conf(log, FAKE_SOFFICE_LOG=str(log))
    return log


def fake_conf(log: Path, **settings: str) -> None:
    """Set the fake's options (it reads them from fake.json beside it, not from the environment)."""
    conf = log.parent / "bin" / "fake.json"
    data = json.loads(conf.read_text()) if conf.exists() else {}
    data.update(settings)
    conf.write_text(json.dumps(data))


def test_missing_soffice_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExternalToolError) as info:
        P.convert_batch([("a.docx", _doc("ok"))])
    assert "找不到 LibreOffice" in info.value.message
    assert info.value.hint and "libreoffice-writer-nogui" in info.value.hint
    assert info.value.exit_code == 10


def test_hang_kills_only_the_culprit_and_retries_the_rest(fake_soffice: Path) -> None:
    items = [("一.docx", _doc("ok-1")), ("卡住.docx", _doc("HANG")), ("二.docx", _doc("ok-2")),
             ("坏.docx", _doc("BAD")), ("三.docx", _doc("ok-3"))]
    t0 = time.monotonic()
    results = P.convert_results(items, timeout=2, workers=1)
    elapsed = time.monotonic() - t0
    assert elapsed < 20  # the 60 s sleep was killed
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert [r.name for r in results] == [n for n, _ in items]
    assert b"ok-1" in (results[0].pdf or b"") and b"ok-3" in (results[4].pdf or b"")
    assert results[1].error_kind == "timeout" and "超时" in (results[1].error or "")
    assert results[3].error_kind == "input" and "无法打开" in (results[3].error or "")
    calls = fake_soffice.read_text().splitlines()
    assert len(calls) == 2  # one batch, then one retry of the files after the culprit
    assert len(calls[0].split()) == 1 + 5 and len(calls[1].split()) == 1 + 3
    # the killed process group is gone
    for line in calls:
        pid = int(line.split()[0])
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_two_workers_run_in_parallel_with_separate_profiles(fake_soffice: Path) -> None:
    items = [(f"{i}.docx", _doc(f"ok-{i}")) for i in range(8)]
    pdfs = P.convert_batch(items, workers=2)
    assert [p.split(b"\n")[1] for p in pdfs] == [f"ok-{i}".encode() for i in range(8)]
    calls = fake_soffice.read_text().splitlines()
    assert len(calls) == 2 and all(len(c.split()) == 1 + 4 for c in calls)
    profiles = sorted(p.name for p in (fake_soffice.parent / "profiles").iterdir() if p.suffix == ".lock")
    assert profiles == ["slot-0.lock", "slot-1.lock"]


def test_crash_of_soffice_is_a_tool_error(fake_soffice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_conf(fake_soffice, FAKE_SOFFICE_CRASH="1")
    with pytest.raises(P.ConversionFailed) as info:
        P.convert_batch([("a.docx", _doc("ok"))], workers=1)
    (result,) = info.value.results
    assert result.error_kind == "tool"
    assert "退出码 81" in (result.error or "") and "fatal error" in (result.error or "")


def test_convert_one_timeout_is_external_tool_error(fake_soffice: Path) -> None:
    with pytest.raises(ExternalToolError) as info:
        P.convert_one(_doc("HANG"), name="卡住.docx", timeout=1)
    assert not isinstance(info.value, InputError)
    assert "卡住.docx" in info.value.message and "超时" in info.value.message


def test_oversized_input_is_refused_before_soffice(fake_soffice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(P, "MAX_DOCX_BYTES", 100)
    (result,) = P.convert_results([("大.docx", _doc("x" * 500))])
    assert result.error_kind == "input" and "文件过大" in (result.error or "")
    assert not fake_soffice.exists()  # soffice never ran


def test_unreadable_path_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        P.convert_batch([tmp_path / "没有这个文件.docx"])
    assert "没有这个文件.docx" in info.value.message


def test_profiles_record_the_version_so_soffice_skips_its_render_tests(
    fake_soffice: Path, tmp_path: Path
) -> None:
    # a headless profile never records ooSetupLastVersion: LibreOffice then runs its graphics
    # render tests (~1 s of CPU) at every start
    profiles = tmp_path / "profiles"
    kept = profiles / "profile-1" / "user" / "registrymodifications.xcu"
    kept.parent.mkdir(parents=True)
    kept.write_text(P._EMPTY_XCU.replace("</oor:items>", '<item oor:path="/x"><prop oor:name="y"/></item>\n</oor:items>'))
    assert all(r.ok for r in P.convert_results([(f"{i}.docx", _doc(f"ok-{i}")) for i in range(4)], workers=2))
    for slot in ("profile-0", "profile-1"):
        xcu = (profiles / slot / "user" / "registrymodifications.xcu").read_text(encoding="utf-8")
        assert xcu.count('<prop oor:name="ooSetupLastVersion" oor:op="fuse"><value>7.4</value>') == 1, xcu
        assert xcu.rstrip().endswith("</oor:items>")
    assert '<item oor:path="/x">' in kept.read_text(encoding="utf-8")
    # once recorded, nothing is rewritten (no version call either)
    xcus = sorted(profiles.glob("profile-*/user/registrymodifications.xcu"))
    before = [x.stat().st_mtime_ns for x in xcus]
    P._lo_version.cache_clear()
    assert P.convert_results([("a.docx", _doc("ok-1"))], workers=1)[0].ok
    assert [x.stat().st_mtime_ns for x in xcus] == before
    assert P._lo_version.cache_info().currsize == 0
    # after an upgrade of LibreOffice (the install changed) the new version replaces the old one
    exe = Path(os.environ["PATH"]) / "soffice"
    exe.write_text(exe.read_text().replace("LibreOffice 7.4.7.2", "LibreOffice 24.2.0.3"))
    os.utime(exe, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert P.convert_results([("a.docx", _doc("ok-1"))], workers=1)[0].ok
    xcu = (profiles / "profile-0" / "user" / "registrymodifications.xcu").read_text(encoding="utf-8")
    assert "<value>24.2</value>" in xcu and xcu.count("ooSetupLastVersion") == 1, xcu


def test_empty_batch() -> None:
    assert P.convert_batch([]) == []


def test_normalize_text_drops_cjk_latin_spaces() -> None:
    assert P.normalize_text("2016 年9 月 1 日，张 小明 ABC 测试") == "2016年9月1日，张小明ABC测试"
    assert P.normalize_text("Hello world 2020") == "Hello world 2020"
    assert P.normalize_text("第一页\n第二页") == "第一页\n第二页"


def test_pdf_readers_reject_garbage() -> None:
    for fn in (P.pdf_text, P.pdf_fonts, P.pdfa_claim):
        with pytest.raises(InputError):
            fn(b"not a pdf")


def test_lo_compat_rewrites_only_a_negative_character_grid() -> None:
    def docx(grid: str) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("word/document.xml", f"<w:document><w:sectPr>{grid}</w:sectPr></w:document>")
            zf.writestr("word/styles.xml", "<w:styles/>")
        return buf.getvalue()

    fixed = P._lo_compat(docx('<w:docGrid w:type="linesAndChars" w:linePitch="579" w:charSpace="-819"/>'))
    with zipfile.ZipFile(io.BytesIO(fixed)) as zf:
        assert zf.read("word/document.xml") == (
            b'<w:document><w:sectPr><w:docGrid w:type="lines" w:linePitch="579"/></w:sectPr></w:document>'
        )
        assert zf.read("word/styles.xml") == b"<w:styles/>"
    for keep in ('<w:docGrid w:type="lines" w:linePitch="579"/>',
                 '<w:docGrid w:type="linesAndChars" w:linePitch="579" w:charSpace="0"/>',
                 '<w:docGrid w:type="linesAndChars" w:linePitch="579" w:charSpace="4096"/>'):
        original = docx(keep)
        assert P._lo_compat(original) is original
    justified = P._lo_compat(docx('<w:p><w:pPr><w:jc w:val="both"/></w:pPr></w:p>'))
    with zipfile.ZipFile(io.BytesIO(justified)) as zf:
        assert b'<w:jc w:val="left"/>' in zf.read("word/document.xml")
        assert b"both" not in zf.read("word/document.xml")
    assert P._lo_compat(b"not a zip") == b"not a zip"
    assert P._lo_compat(b"PK\x03\x04broken") == b"PK\x03\x04broken"


def test_progress_is_reported_while_a_batch_converts(fake_soffice: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # one soffice call converts the whole batch: progress must come in steps during it, not at the end
    fake_conf(fake_soffice, FAKE_SOFFICE_DELAY="0.3")
    monkeypatch.setattr(P, "PROGRESS_INTERVAL", 0.05)
    steps: list[int] = []
    items = [("broken.docx", b"not a zip")] + [(f"{i}.docx", _doc(f"ok-{i}")) for i in range(3)]
    results = P.convert_results(items, workers=1, progress=steps.append)
    assert [r.ok for r in results] == [False, True, True, True]
    assert sum(steps) == len(items) and len(steps) >= 3, steps
    assert all(n > 0 for n in steps)


def test_slim_styles_keeps_what_is_used_and_what_it_inherits() -> None:
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

    def style(sid: str, extra: str = "", default: bool = False) -> str:
        d = ' w:default="1"' if default else ""
        return f'<w:style w:type="paragraph"{d} w:styleId="{sid}"><w:name w:val="{sid}"/>{extra}</w:style>'

    styles = (
        f"<w:styles {w}><w:docDefaults/><w:latentStyles w:count=\"1\"><w:lsdException w:name=\"x\"/></w:latentStyles>"
        + style("Normal", default=True)
        + style("Base", '<w:basedOn w:val="Normal"/>')
        + style("Body", '<w:basedOn w:val="Base"/><w:next w:val="After"/><w:link w:val="BodyChar"/>')
        + style("After")
        + style("BodyChar")
        + style("Unused", '<w:basedOn w:val="Normal"/>')
        + style("Heading1")
        + "</w:styles>"
    ).encode()
    body = f'<w:document {w}><w:body><w:p><w:pPr><w:pStyle w:val="Body"/></w:pPr></w:p></w:body></w:document>'
    used = P.style_references(body.encode())
    assert used == {"Body"}
    slim = P.slim_styles(styles, used)
    assert slim is not None
    kept = set(re.findall(rb'w:styleId="([^"]*)"', slim))
    assert kept == {b"Normal", b"Base", b"Body", b"After", b"BodyChar"}
    assert b"latentStyles" not in slim and b"docDefaults" in slim
    assert P.slim_styles(slim, used) is None  # nothing left to drop
    assert P.slim_styles(b"<w:styles><broken", used) is None
    assert P.style_references(b"<broken") is None

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", body)
        zf.writestr("word/styles.xml", styles)
    with zipfile.ZipFile(io.BytesIO(P._lo_compat(buf.getvalue()))) as zf:
        assert zf.read("word/styles.xml") == slim
        assert zf.read("word/document.xml") == body.encode()
    # a part that is not XML: nothing is guessed, styles stay as they are
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", body)
        zf.writestr("word/footer1.xml", "<w:ftr><broken")
        zf.writestr("word/styles.xml", styles)
    assert P._lo_compat(buf.getvalue()) == buf.getvalue()
