"""Excel workbooks: the 台账 of the whole archive, and the 待办 / statistics tables.

One sheet per table, header row bold and frozen, text cells never turned into formulas (a
value starting with ``=`` stays text: formula injection).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from guanai.archive import workflow as awf
from guanai.care import workflow as wf

if TYPE_CHECKING:
    from guanai.archive.store import Archive

Sheet = tuple[str, Sequence[str], Sequence[Sequence[Any]]]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append(list(headers))
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center")
        widths = [max(4, sum(2 if ord(c) > 0x2E80 else 1 for c in str(h))) for h in headers]
        for row in rows:
            values = [_cell(v) for v in row]
            ws.append(values)
            for i, v in enumerate(values):
                cell = ws.cell(row=ws.max_row, column=i + 1)
                if isinstance(v, str) and v.startswith("="):
                    cell.data_type = "s"
                if i < len(widths):
                    widths[i] = min(60, max(widths[i], sum(2 if ord(c) > 0x2E80 else 1 for c in str(v))))
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w + 2
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def due_sheet(obligations: Sequence[wf.Obligation]) -> Sheet:
    headers = ["事项", "儿童", "儿童编号", "期限", "逾期天数", "依据", "办理命令", "规则"]
    rows = [[o.title, o.child_name, o.child_id, o.due, o.overdue_days, o.basis, o.command, o.rule]
            for o in obligations]
    return ("待办", headers, rows)


def stats_sheets(st: wf.Stats) -> list[Sheet]:
    labels = wf.FIGURE_LABELS
    rows: list[list[Any]] = []
    for key, value in st.to_dict().items():
        if key == "groups":
            continue
        if isinstance(value, dict):
            for k2, v2 in value.items():
                rows.append([f"{labels.get(key, key)}·{labels.get(k2, k2)}", v2])
        else:
            rows.append([labels.get(key, key), value])
    sheets: list[Sheet] = [("统计", ["项目", "数值"], rows)]
    if st.by and st.groups:
        keys = list(wf.Figures().to_dict())
        sheets.append((f"分组（{st.by}）", ["分组", "在册学生", *(labels.get(k, k) for k in keys)],
                       [[k, st.group_enrolled.get(k, ""), *g.to_dict().values()] for k, g in st.groups.items()]))
    return sheets


def ledger_sheets(arc: Archive, as_of: date) -> list[Sheet]:
    """The 台账 of the whole archive: children, visits, cases, mentors, contacts, duties."""
    arc.require("export")
    state = awf.load_state(arc)
    labels = {c.child_id: c.label() for c in state.cases if c.open}
    names = {c.id: c.record for c in state.children}
    children: list[list[Any]] = []
    for c in state.children:
        r = c.record
        cats = wf.categories(c, as_of)
        ident = wf.identified_on(c, state.rounds)
        parent_contacts = [x.on for x in c.contacts if x.with_whom == wf.PARENT_AWAY]
        children.append([r.name, r.gender, r.student_id, r.id_number, r.grade, r.class_name, c.status,
                         labels.get(c.id, ""), cats, ident, r.mentor, r.mentor_phone,
                         r.entrusted_carer.name if r.entrusted_carer else "", r.village_committee,
                         max(c.visits) if c.visits else "", max(parent_contacts) if parent_contacts else "", c.id])
    visits: list[list[Any]] = []
    for doc in arc.list_documents(kind="home-visit"):
        if doc.meta.get("pdf_of") or doc.child_id not in names:
            continue
        form = arc.document_form(doc.id) or {}
        rec = names[doc.child_id]
        visits.append([rec.name, rec.student_id, doc.doc_date, form.get("家访形式", ""), form.get("家访教师", ""),
                       bool(form.get("已告知村（居）委会")), doc.title, doc.id])
    cases = []
    for case in state.cases:
        crec = names.get(case.child_id)
        cases.append([crec.name if crec else "", crec.student_id if crec else "", case.since, case.whereabouts_unknown,
                      len(case.persuasions),
                      "；".join(f"{p.on.isoformat()} {p.method}（{p.by}）：{p.result}" for p in case.persuasions),
                      "；".join(f"{'辍学情况报告' if x.kind == 'dropout' else '去向不明报告'} {x.on.isoformat()}"
                               for x in case.reports),
                      case.returned or "", case.label() if case.open else "已复学"])
    overview = awf.mentor_overview(arc, as_of)
    mentors = [[t["name"], t["phone"], t["count"], t["children"]] for t in overview["teachers"]]
    history = [[names[h["child_id"]].name if h["child_id"] in names else "", h["teacher"], h["from"], h["to"] or ""]
               for h in overview["history"]]
    contacts = [[x["child_name"], x["date"], x["with"], x["how"], x["agreed"], x["by"]]
                for x in awf.list_contacts(arc)]
    duties = [[x["kind"], x["date"], x["note"]] for x in awf.list_duties(arc)]
    arc.audit("ledger.export", None, {"children": len(children)})
    return [
        ("儿童台账", ["姓名", "性别", "学籍号", "身份证号", "年级", "班级", "档案状态", "控辍保学", "类别", "认定日期",
                  "帮扶教师", "帮扶教师电话", "委托照护人", "村（居）委会", "最近家访", "最近联系外出家长", "编号"], children),
        ("家访记录", ["儿童", "学籍号", "家访日期", "形式", "家访教师", "已告知村（居）委会", "标题", "文档编号"], visits),
        ("控辍保学", ["儿童", "学籍号", "旷课起始日期", "去向不明", "劝返次数", "劝返记录", "上报", "复学日期", "状态"], cases),
        ("帮扶教师", ["教师", "电话", "帮扶人数", "帮扶儿童"], mentors),
        ("结对记录", ["儿童", "帮扶教师", "起", "止"], history),
        ("家校联系", ["儿童", "日期", "联系对象", "方式", "商定事项", "记录人"], contacts),
        ("学期工作", ["工作", "日期", "记录"], duties),
    ]
