"""End-to-end tests of the web UI in a real browser (Debian's chromium driven by Playwright).

One server per school for the whole module; screenshots of every main page go to
build/screenshots/ as artefacts. Skipped without chromium unless GUANAI_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from transfer_helpers import CODE_B, NAME_B, PASS_A, PASS_B, Scenario, build_scenario
from web_helpers import CHROMIUM, SHOTS, USERS, require_browser, running

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    require_browser()
    from guanai.archive.store import Archive
    from guanai.archive.transfer import export_package
    from guanai.care.synth import synth_children
    from guanai.generators.slip import render_slip

    root = tmp_path_factory.mktemp("web-browser")
    sc = build_scenario(root / "s")
    with sc.open_a() as arc:
        for role, (name, pw) in USERS.items():
            arc.add_user(name, role, pw)
        with arc.transaction():
            for r in synth_children(8, seed=11):
                arc.add_child(r.model_copy(update={"school": arc.info.school_name}))
        # a real PDF for each of the two children sent (their scenario "PDFs" are unreadable noise)
        from test_transfer_docsig import plain_pdf

        from guanai.generators.sign import pdf_signer

        for cid in sc.child_ids[:2]:
            arc.put_document(kind="attachment", title="通报", content=plain_pdf(), filename="通报.pdf",
                             mime="application/pdf", child_id=cid)
        # a package for the receiving-school test (the archivist exports another child in the UI)
        export_package(arc, [sc.child_ids[0]], CODE_B, root / "to-b.gtp", render_slip=render_slip,
                       sign=pdf_signer(arc))
    assert isinstance(arc, Archive)
    return sc


@pytest.fixture(scope="module")
def server_a(scenario: Scenario) -> Iterator[str]:
    from guanai.web.app import create_app

    with running(create_app(scenario.a)) as url:
        yield url


@pytest.fixture(scope="module")
def server_b(scenario: Scenario) -> Iterator[str]:
    from guanai.web.app import create_app

    with running(create_app(scenario.b)) as url:
        yield url


@pytest.fixture(scope="module")
def browser(scenario: Scenario) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.on("dialog", lambda d: d.accept())  # hx-confirm
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.console_errors = errors
    try:
        yield pg
    finally:
        ctx.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def log_in(page: Any, base: str, user: str, passphrase: str) -> None:
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("#user", user)
    page.fill("#passphrase", passphrase)
    page.click("#login-btn")
    page.wait_for_url(base + "/")
    page.wait_for_selector(".sidebar")


def wait_job(page: Any) -> None:
    page.wait_for_selector("#job-status[data-state='done'], #job-status[data-state='failed']", timeout=120_000)
    assert page.get_attribute("#job-status", "data-state") == "done", page.inner_text("#job-status")


def no_csp_violations(page: Any) -> None:
    bad = [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e]
    assert not bad, bad


def test_secretary_roster_card_preview_download(page: Any, server_a: str, tmp_path: Path) -> None:
    from guanai.care.roster import roster_csv_bytes
    from guanai.care.synth import synth_children

    name, pw = USERS["secretary"]
    page.goto(server_a + "/login")
    shot(page, "01-login")
    log_in(page, server_a, name, pw)
    page.wait_for_selector("#stats")  # the 待办 and figures panels follow the page
    assert "在册学生" in page.inner_text("#stats")
    shot(page, "02-home")
    nav = page.inner_text(".sidebar")
    assert "批量" in nav and "用户" not in nav

    # a roster with five good rows and one bad row
    recs = [r.model_copy(update={"school": "萧县龙城镇中心小学"}) for r in synth_children(5, seed=401)]
    rows = list(csv.reader(io.StringIO(roster_csv_bytes(recs).decode("utf-8-sig"))))
    bad = list(rows[1])
    bad[rows[0].index("学籍号")] = "G12345"  # not a valid 学籍号
    roster = tmp_path / "花名册.csv"
    buf = io.StringIO()
    csv.writer(buf).writerows([*rows, bad])
    roster.write_text(buf.getvalue(), encoding="utf-8-sig")
    page.click("text=批量")
    page.set_input_files("#roster-file", str(roster))
    page.click("#roster-upload")
    page.wait_for_selector("#roster-preview-box")
    text = page.inner_text("#roster-preview-box")
    assert "5 行可导入" in text and "1 行有问题" in text, text
    assert "学籍号" in page.inner_text("#roster-problems")
    page.click("#roster-preview-box summary")  # the column mapping
    assert "学籍号" in page.inner_text("#roster-columns")
    shot(page, "03-batch-preview")
    page.click("#roster-apply")
    wait_job(page)
    assert "已导入 5 名" in page.inner_text("#roster-result")
    page.reload()  # the result lives on the server: a reload shows it again
    assert "已导入 5 名" in page.inner_text("#roster-result")

    # the imported child's page → next document: 档案卡 (pre-filled from the record)
    page.goto(server_a + "/children?q=" + recs[0].student_id)
    page.click(f"text={recs[0].name}")
    page.wait_for_selector("#next-child-card")
    shot(page, "04-child")
    page.click("#next-child-card")
    page.wait_for_selector("#generate")
    assert page.input_value("input[name='姓名']") == recs[0].name
    # a follow-up row without its required date: the error is shown at the field
    page.click("[data-add-row]")
    page.fill("input[name='跟踪记录.0.内容']", "电话联系监护人，了解近况。")
    page.click("#generate")
    page.wait_for_selector(".field-error")
    assert "日期" in page.inner_text(".has-error")
    shot(page, "05-doc-form-errors")
    page.fill("input[name='跟踪记录.0.日期']", "2026-09-15")
    page.select_option("select[name='跟踪记录.0.方面']", "心理疏导")
    page.click("#generate")
    wait_job(page)
    assert page.locator("#generated a").first.inner_text().startswith("一人一卡一策档案卡")
    if page.locator("#pdf-preview").count():
        frame_src = page.get_attribute("#pdf-preview", "src")
        resp = page.request.get(server_a + frame_src)
        assert resp.status == 200 and resp.body()[:5] == b"%PDF-"
        page.wait_for_timeout(1500)  # let the PDF viewer draw before the screenshot
    shot(page, "06-doc-generated")
    with page.expect_download() as dl:
        page.locator("#generated a[download]").first.click()
    saved = tmp_path / "card.docx"
    dl.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK" and dl.value.suggested_filename.endswith(".docx")
    no_csp_violations(page)


def test_archivist_search_filter_export(page: Any, server_a: str, scenario: Scenario, tmp_path: Path) -> None:
    name, pw = USERS["archivist"]
    log_in(page, server_a, name, pw)
    page.click("text=检索")
    page.fill("#q", "上河家村")
    page.click("#search-btn")
    page.wait_for_selector("#search-count")
    assert page.locator(".snippet mark").count() >= 1
    assert page.locator(".snippet mark").first.inner_text() == "上河家村"
    shot(page, "07-search")
    # a filter narrows the hits: a child's name finds the child and its documents; 种类 = 儿童档案
    with scenario.open_a(write=False) as arc:
        child_name = arc.get_child(scenario.child_ids[2]).record.name
    page.fill("#q", child_name)
    page.click("#search-btn")
    page.locator("#search-count", has_text="找到 4 条").wait_for()
    page.select_option("#f-kind", "child")
    page.wait_for_url(re.compile(r"kind=child"))  # the filter reaches the library (Filters.kind)
    page.locator("#search-count", has_text="找到 1 条").wait_for()
    assert page.locator(".hit").count() == 1 and page.locator(".hit .tag", has_text="儿童档案").count() == 1

    # children: filter by grade
    page.goto(server_a + "/children")
    grades = page.locator("select[name='grade'] option").all_inner_texts()[1:]
    assert grades
    page.select_option("select[name='grade']", grades[0])
    page.wait_for_url(re.compile(r"grade="))
    cells = page.locator("#children tbody tr td:nth-child(3)").all_inner_texts()
    assert cells and set(cells) == {grades[0]}
    shot(page, "08-children")

    # export one child's dossier to school B
    with scenario.open_a(write=False) as arc:
        sid = arc.get_child(scenario.child_ids[1]).record.student_id
    page.click("text=转接")
    page.select_option("#t-to", CODE_B)
    page.fill("#t-refs", sid)
    shot(page, "09-transfer")
    page.click("#export-btn")
    wait_job(page)
    assert NAME_B in page.inner_text("#job-status")
    # the one real PDF is signed by the school; the scenario's noise "PDFs" are listed as not signed
    assert "本校数字签名 1 份" in page.inner_text("#export-signatures")
    assert "未能签名 3 份" in page.inner_text("#export-signatures")
    with page.expect_download() as dl:
        page.click("#download-package")
    out = tmp_path / "pkg.gtp"
    dl.value.save_as(out)
    assert out.stat().st_size > 1000
    no_csp_violations(page)


def test_receiving_school_imports_and_accepts(page: Any, server_b: str, scenario: Scenario, tmp_path: Path) -> None:
    pkg = scenario.root.parent / "to-b.gtp"
    log_in(page, server_b, "admin", PASS_B)
    page.click("text=转接")
    page.set_input_files("#package-file", str(pkg))
    page.click("#package-upload")
    page.wait_for_selector("#package-box")
    assert "有效" in page.inner_text("#signature")
    # each carried PDF checked against the county directory: the signed one valid, the noise unreadable
    assert "有效 1，无效 0，未签名 0，无法读取 3" in page.inner_text("#pdf-signatures")
    assert "无法读取 PDF" in page.inner_text("#pdf-signature-problems")
    shot(page, "10-transfer-inbox")
    page.click("#accept-btn")
    wait_job(page)
    assert "已接收转接包" in page.inner_text("#import-result")
    assert "有效 1 份" in page.inner_text("#import-signatures")
    with page.expect_download() as dl:
        page.click("#download-receipt")
    assert dl.value.suggested_filename.endswith(".receipt")
    page.goto(server_b + "/children?status=")
    assert page.locator("#children tbody tr").count() == 1
    no_csp_violations(page)


def test_inspector_read_only(page: Any, server_a: str) -> None:
    name, pw = USERS["inspector"]
    log_in(page, server_a, name, pw)
    nav = page.inner_text(".sidebar")
    for hidden in ("批量", "转接", "用户"):
        assert hidden not in nav
    assert "检测与审计" in nav
    page.goto(server_a + "/children")
    assert page.locator("#add-child").count() == 0
    shot(page, "11-inspector-children")
    page.locator("#children tbody a").first.click()
    page.wait_for_selector(".timeline, .panel")
    assert page.locator("#edit-child").count() == 0
    assert page.locator("[id^='next-']").count() == 0
    page.goto(server_a + "/verify")
    page.click("#verify-btn")
    wait_job(page)
    shot(page, "12-verify")
    # refused server-side too, even with a valid session and CSRF token
    token = json.loads(page.get_attribute("body", "hx-headers"))["X-CSRF-Token"]
    for url in ("/children/new", "/batch", "/transfer", "/users", "/docs/new?kind=child-card"):
        assert page.request.get(server_a + url).status == 403, url
    r = page.request.post(server_a + "/children/new", headers={"X-CSRF-Token": token},
                          form={"姓名": "督查不能写", "学籍号": "G11010519491231002X", "学校": "x", "年级": "一年级"})
    assert r.status == 403
    r = page.request.post(server_a + "/users/add", headers={"X-CSRF-Token": token},
                          form={"name": "黑客", "role": "admin", "passphrase": "12345678abc", "passphrase2": "12345678abc"})
    assert r.status == 403


def test_admin_adds_user(page: Any, server_a: str) -> None:
    log_in(page, server_a, "admin", PASS_A)
    page.click("text=用户")
    page.fill("#u-name", "新来的老师")
    page.select_option("#u-role", "secretary")
    page.fill("#u-pass", "新老师口令-2026")
    page.fill("#u-pass2", "新老师口令-2026")
    page.click("#add-user")
    page.wait_for_selector("text=已添加用户")
    assert "新来的老师" in page.inner_text("#users")
    shot(page, "13-users")
    page.goto(server_a + "/docs")
    shot(page, "14-docs")
    page.goto(server_a + "/children/new")
    page.fill("#f-姓名", "新生")
    page.fill("#f-学籍号", "G12")
    page.fill("#f-年级", "一年级")
    page.click("#save-child")
    page.wait_for_selector(".field-error")
    shot(page, "15-child-form")
    page.goto(server_a + "/children")
    grades = page.locator("select[name='grade'] option").all_inner_texts()[1:]
    numerals = [g[0] for g in grades]
    assert len(numerals) > 1 and numerals == sorted(numerals, key="一二三四五六七八九".index)
    page.goto(server_a + "/verify")
    shot(page, "16-audit")
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login"))
    # the new user can log in
    log_in(page, server_a, "新来的老师", "新老师口令-2026")
    assert "新来的老师" in page.inner_text(".topbar")
    no_csp_violations(page)
