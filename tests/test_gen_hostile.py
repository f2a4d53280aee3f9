"""Adversarial inputs: hostile values, hostile templates, broken template files, oversized input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from gen_helpers import docx_text, patched_template, sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanai.base.errors import InputError
from guanai.generators.forms import FormError, normalise_text
from guanai.generators.generate import generate_batch, safe_name
from guanai.generators.render import check_template, compile_template, render, render_isolated, validate
from guanai.generators.text import docx_text as fast_text

HOSTILE = [
    "A&B<C>",
    "<w:p><w:r><w:t>injected</w:t></w:r></w:p>",
    "]]><!--",
    "{{ 7*7 }}",
    "{% for x in range(3) %}X{% endfor %}",
    "\"quoted\" and 'single'",
    "&amp;&lt;&#x41;",
    "</w:t></w:r></w:p></w:body>",
    "${jndi:ldap://x}",
    "{_{ docxtpl escape }_} {_% x %_}",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_render_literally(value: str) -> None:
    form = sample("care-record") | {"帮扶内容": value, "帮扶人": "李老师" + value[:20]}
    data = render("care-record", form)
    text = docx_text(data)
    assert value in text  # literally: not lost, not evaluated, not injected
    assert "49" not in text.replace(value, "")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        xml = zf.read("word/document.xml").decode()
    assert "injected</w:t>" not in xml


def test_control_characters_are_normalised_not_lost() -> None:
    form = sample("care-record") | {"帮扶内容": "甲\x00乙\x07丙\x0c丁\t戊\x1b己\ud800"}
    text = fast_text(render("care-record", form))
    assert "甲乙\n丙\n丁 戊己" in text


def test_hundred_kb_string_is_rejected_with_a_message() -> None:
    form = sample("care-record") | {"帮扶内容": "长" * 100_000}
    with pytest.raises(FormError) as err:
        render("care-record", form)
    text = str(err.value)  # the message names the form; every problem comes with it
    assert "帮扶内容" in text and "过长" in text and "100000" in text and len(err.value.problems) == 1


def test_many_rows_of_long_values_still_render() -> None:
    rows = [{"日期": "2020-10-01", "方面": "心理疏导", "内容": f"第{i}次" + "谈心Q" * 1500} for i in range(30)]
    form = sample("child-card") | {"跟踪记录": rows}
    text = fast_text(render("child-card", form))
    assert "第29次" in text and text.count("谈心Q") == 30 * 1500


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=200))
def test_any_text_round_trips(value: str) -> None:
    expected = normalise_text(value, multiline=True)
    form = sample("care-record") | {"帮扶内容": value}
    if not expected:
        with pytest.raises(FormError):
            validate("care-record", form)
        return
    text = fast_text(render("care-record", form))
    assert expected in text


@pytest.mark.parametrize("expr", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ name['__class__'] }}",
    "{{ self.__init__.__globals__ }}",
])
def test_hostile_templates_refused(tmp_path: Path, expr: str) -> None:
    path = patched_template("care-record", tmp_path, "{{ content }}", expr)
    with pytest.raises(InputError) as err:
        compile_template(path)
    assert "不安全" in err.value.message


def test_sandbox_blocks_at_render_time_too(tmp_path: Path) -> None:
    # an unsafe call the static check does not know by name: the sandbox refuses it when rendering
    path = patched_template("care-record", tmp_path, "{{ content }}", "{{ content.format.__self__ }}")
    with pytest.raises(InputError, match="不安全"):
        compile_template(path)
    for i, expr in enumerate(["{{ content|attr('__class__') }}", "{{ [].append(1) }}"]):
        path = patched_template("care-record", tmp_path / str(i), "{{ content }}", expr)
        results = render_isolated("care-record", [validate("care-record", sample("care-record"))], path)
        assert results[0].error is not None and "不安全" in results[0].error.message, expr


def test_custom_template_cpu_bomb_times_out(tmp_path: Path) -> None:
    bomb = "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}"
    path = patched_template("care-record", tmp_path, "{{ content }}", bomb)
    results = render_isolated("care-record", [validate("care-record", sample("care-record"))], path, timeout=3)
    assert results[0].rendered is None
    assert results[0].error is not None and ("超时" in results[0].error.message or "限制" in results[0].error.message)


def test_custom_template_through_generate_is_isolated(tmp_path: Path) -> None:
    tdir = tmp_path / "tpl"
    patched_template("care-record", tdir, "帮扶记录</w:t>", "本校帮扶记录</w:t>")
    res = generate_batch(None, "care-record", [sample("care-record")], template_dir=tdir, store=False,
                         out_dir=tmp_path / "out")
    assert not res.failed and "自定义模板" in res.notes[0]
    assert "本校帮扶记录" in docx_text(res.ok[0].out_path.read_bytes())  # type: ignore[union-attr]


def test_docxtpl_brace_escapes_in_templates(tmp_path: Path) -> None:
    path = patched_template("care-record", tmp_path, "{{ content }}", "{_{ literal }_}{{ content }}")
    res = render_isolated("care-record", [validate("care-record", sample("care-record"))], path)[0]
    assert res.rendered is not None and "{{ literal }}课后辅导" in res.rendered.text


def test_template_syntax_error_named(tmp_path: Path) -> None:
    path = patched_template("care-record", tmp_path, "{{ content }}", "{{ content ")
    with pytest.raises(InputError, match="语法错误"):
        compile_template(path)


@pytest.mark.parametrize("damage", ["truncate", "not_zip", "no_document"])
def test_broken_template_files(tmp_path: Path, damage: str) -> None:
    from guanai.generators.assets import TEMPLATE_DIR

    src = (TEMPLATE_DIR / "care-record.docx").read_bytes()
    path = tmp_path / f"{damage}.docx"
    if damage == "truncate":
        path.write_bytes(src[: len(src) // 2])
    elif damage == "not_zip":
        path.write_bytes(b"<html>not a docx</html>")
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("word/other.xml", "<x/>")
        path.write_bytes(buf.getvalue())
    with pytest.raises(InputError):
        compile_template(path)


def test_template_that_breaks_xml_is_rejected_not_recovered(tmp_path: Path) -> None:
    # a tag that emits raw markup (|safe) producing unbalanced XML: strict parse refuses it
    path = patched_template("care-record", tmp_path, "{{ content }}", "{{ '</w:t></w:r>'|safe }}")
    with pytest.raises(InputError, match="不是合法的 XML"):
        render_isolated_or_raise(path)


def render_isolated_or_raise(path: Path) -> None:
    res = render_isolated("care-record", [validate("care-record", sample("care-record"))], path)[0]
    if res.error:
        raise res.error


def test_template_check_lists_unknown_and_missing(tmp_path: Path) -> None:
    path = patched_template("care-record", tmp_path, "{{ content }}", "{{ contnet }}")
    report = check_template(path, "care-record", trial=False)
    assert report.unknown == ["contnet"]
    assert any("帮扶内容" in m for m in report.missing)
    assert not report.ok


def test_file_names_cannot_traverse() -> None:
    assert "/" not in safe_name("../../etc/passwd") and "\\" not in safe_name("..\\..\\x")
    assert safe_name("../../etc/passwd").startswith("_etc") or ".." not in safe_name("../../etc/passwd")


def test_official_title_with_slashes_stays_in_out_dir(tmp_path: Path) -> None:
    form = sample("circular") | {"标题": "../../逃逸/通报"}
    res = generate_batch(None, "circular", [form], store=False, out_dir=tmp_path / "out")
    assert not res.failed
    path = res.ok[0].out_path
    assert path is not None and path.parent == tmp_path / "out"
    assert "逃逸" in path.name


def test_family_document_refuses_labels() -> None:
    form = sample("persuasion-notice") | {"监护人": "留守儿童家长王某"}
    with pytest.raises(FormError, match="标签"):
        validate("persuasion-notice", form)


@pytest.mark.parametrize("value", ["留 守儿童家长", "留\u200b守", "困\u3000境家庭", "留\u00ad守"])
def test_family_document_refuses_labels_hidden_by_spaces(value: str) -> None:
    form = sample("entrusted-care") | {"受委托人住址": f"萧县{value}互助点"}
    with pytest.raises(FormError, match="标签"):
        validate("entrusted-care", form)


def test_label_check_does_not_join_lines() -> None:
    from guanai.generators.forms import find_labels

    assert find_labels("请保留\n守护好孩子") == []  # 留 at a line end, 守 on the next line: not a word
    assert find_labels("困 境") == ["困境"]


@pytest.mark.parametrize(("part", "old", "new"), [
    ("word/footer1.xml", ">第 </w:t>", ">留守儿童 第 </w:t>"),
    ("word/footer2.xml", ">第 </w:t>", ">困境 第 </w:t>"),
])
def test_custom_template_hiding_labels_outside_the_body_is_caught(tmp_path: Path, part: str, old: str,
                                                                   new: str) -> None:
    tdir = tmp_path / "tpl"
    patched_template("persuasion-notice", tdir, old, new, part=part)
    res = generate_batch(None, "persuasion-notice", [sample("persuasion-notice")], template_dir=tdir, store=False,
                         out_dir=tmp_path / "out")
    assert not res.ok and ("留守" in res.failed[0].message or "困境" in res.failed[0].message), res.failed
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_template_core_properties_never_reach_the_document(tmp_path: Path) -> None:
    """docProps/core.xml is written from the form (title, kind, school, date): a template's own
    title (with a label, or with editing instructions) does not travel into the document or its PDF."""
    import zipfile

    tdir = tmp_path / "tpl"
    patched_template("persuasion-notice", tdir, "<dc:title>劝返复学通知书", "<dc:title>留守儿童劝返复学通知书",
                     part="docProps/core.xml")
    res = generate_batch(None, "persuasion-notice", [sample("persuasion-notice")], template_dir=tdir, store=False,
                         out_dir=tmp_path / "out")
    assert res.ok and res.ok[0].out_path is not None
    core = zipfile.ZipFile(res.ok[0].out_path).read("docProps/core.xml").decode("utf-8")
    assert "留守" not in core and "<dc:title>劝返复学通知书（张小明，第1次）</dc:title>" in core
    assert "<dc:creator>萧县实验小学</dc:creator>" in core and "<dc:subject>劝返复学通知书</dc:subject>" in core
    assert "模板" not in core  # no template instructions in the metadata


def test_custom_template_adding_labels_to_family_document_is_caught(tmp_path: Path) -> None:
    tdir = tmp_path / "tpl"
    patched_template("persuasion-notice", tdir, "劝返复学通知书</w:t>", "留守儿童劝返复学通知书</w:t>")
    res = generate_batch(None, "persuasion-notice", [sample("persuasion-notice")], template_dir=tdir, store=False,
                         out_dir=tmp_path / "out")
    assert not res.ok and "留守" in res.failed[0].message
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_reading_errors_are_explained_in_chinese(tmp_path: Path) -> None:
    # broken, truncated and mislabelled files: the message a secretary sees has no English in it
    import re

    from guanai.generators.formsio import read_forms
    from guanai.generators.lint import lint_docx
    from guanai.generators.pdf import pdf_text

    good = render("circular", sample("circular"))  # a 公文: lint reads all of it
    broken_xml = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(broken_xml, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, b"<w:document><w:body><w:p>" if info.filename == "word/document.xml" else data)
    not_zip = tmp_path / "模板.docx"
    not_zip.write_bytes(b"PK\x03\x04 this is not really a zip file")
    bad_xlsx = tmp_path / "台账.xlsx"
    bad_xlsx.write_bytes(good[: len(good) // 2])
    attempts = [
        lambda: compile_template(not_zip),
        lambda: read_forms(bad_xlsx),
        lambda: lint_docx(good[: len(good) // 2], name="通知.docx"),
        lambda: lint_docx(broken_xml.getvalue(), name="通知.docx"),
        lambda: fast_text(good[:100]),
        lambda: pdf_text(b"%PDF-1.7\n garbage"),
    ]
    for attempt in attempts:
        with pytest.raises(InputError) as info:
            attempt()
        message = re.sub(r"\.docx|\.xlsx|word/document\.xml|XML|ZIP|PDF|Word|WPS|Excel", "", info.value.message)
        assert not re.search(r"[A-Za-z]{3,}", message), info.value.message
