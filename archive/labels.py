"""Chinese words for what the archive stores: file formats, MIME types, roles, statuses."""

from __future__ import annotations

from pathlib import PurePosixPath

# MIME type -> (short format, Chinese description)
MIME_NAMES: dict[str, tuple[str, str]] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx", "Word 文档（.docx）"),
    "application/pdf": ("pdf", "PDF 文档"),
    "application/msword": ("doc", "旧版 Word 文档（.doc）"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx", "Excel 表格（.xlsx）"),
    "application/vnd.ms-excel": ("xls", "旧版 Excel 表格（.xls）"),
    "image/jpeg": ("jpg", "JPEG 图片"),
    "image/png": ("png", "PNG 图片"),
    "image/tiff": ("tif", "TIFF 图片（扫描件）"),
    "image/gif": ("gif", "GIF 图片"),
    "text/plain": ("txt", "纯文本"),
    "text/csv": ("csv", "CSV 表格"),
    "application/json": ("json", "JSON 数据"),
    "application/zip": ("zip", "ZIP 压缩包"),
    "application/octet-stream": ("", "其他文件"),
}

ROLE_NAMES: dict[str, str] = {
    "admin": "管理员",
    "secretary": "文书",
    "archivist": "档案员",
    "inspector": "督查员（只读）",
}


def format_label(mime: str, filename: str = "") -> str:
    """The short format shown in a listing's 格式 column: docx, pdf, jpg …"""
    short = MIME_NAMES.get((mime or "").lower(), ("", ""))[0]
    if short:
        return short
    suffix = PurePosixPath(filename or "").suffix.lower().lstrip(".")
    return suffix or "—"


def mime_label(mime: str) -> str:
    """A Chinese description of a MIME type (the type itself when unknown)."""
    entry = MIME_NAMES.get((mime or "").lower())
    return entry[1] if entry else (mime or "未知类型")


def role_label(role: str) -> str:
    return ROLE_NAMES.get(role, role)
