"""Patching a child record: the fields a file names replace the record's, ``null`` clears one.

Pure (no archive): ``apply_patch`` merges nested objects (父亲, 母亲, 监护人 …) field by field and
validates the result like any new record; derived fields (出生日期, 性别) are dropped when the
number they come from changes and the patch does not set them, so they are derived again.
"""

from __future__ import annotations

from typing import Any

from guanai.base.errors import InputError
from guanai.care.model import ChildRecord, parse_child, to_aliases


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` applied: nested objects merged, ``None`` removes a key."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def apply_patch(record: ChildRecord, patch: Any, source: str, *, status: str | None = None) -> ChildRecord:
    """The record after ``patch`` (Chinese or English field names), validated (RecordError lists every problem).

    ``status``: the dossier's current status; a patch may not change it (statuses change through
    close / reopen / graduate / transfer, which are audited with a reason).
    """
    if not isinstance(patch, dict):
        raise InputError(f"{source} 应为一个儿童记录（键值对象）。", "如：父亲: {状况: 在家}")
    patch = to_aliases(patch)  # English field names allowed, as in child add
    new_status = patch.get("状态")
    if new_status is not None and new_status != (status if status is not None else record.status):
        raise InputError("状态不能用 update 修改。",
                         "结案用 guanai child close，重新启用用 child reopen，毕业用 child graduate。")
    merged = merge(record.to_json_dict(), patch)
    if "出生日期" not in patch and ("身份证号" in patch or "学籍号" in patch):
        merged.pop("出生日期", None)  # re-derived from the new number
    if "性别" not in patch and ("身份证号" in patch or "学籍号" in patch):
        merged.pop("性别", None)
    return parse_child(merged, source)
