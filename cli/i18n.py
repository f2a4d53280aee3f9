"""Chinese for click's own texts (usage, option headings, usage errors).

click marks its user-facing strings with ``gettext`` but ships no catalogues, so a user would see
"Usage:", "Show this message and exit." or "Missing option '--to'." in English. Each click module
binds ``_`` / ``ngettext`` at import time; :func:`install` rebinds them to look the string up here
first. Strings not in the table stay as they are.
"""

from __future__ import annotations

import importlib

ZH: dict[str, str] = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示此帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "提示：运行 '{command} {option}' 查看帮助与示例。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少子命令。",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Did you mean {possibility}?": "是否要用 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否要用以下之一：{possibilities}？）",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选值 {choices} 之中。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 之内。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录，应为文件。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，应为目录。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 无法读取（权限）。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 无法写入（权限）。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "Aborted!": "已取消。",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
    "Repeat for confirmation": "再次输入以确认",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不再询问，直接执行。",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
    "integer": "整数",
    "float": "数",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
}

_MODULES = ("click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
            "click.termui", "click.types", "click.utils")


def gettext(message: str) -> str:
    return ZH.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return ZH.get(singular if n == 1 else plural, singular if n == 1 else plural)


def install() -> None:
    """Rebind click's ``_``/``ngettext`` to the table above (idempotent)."""
    for name in _MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
    import click.formatting

    click.formatting.wrap_text = wrap_text  # HelpFormatter looks these up at call time
    click.formatting.term_len = term_len  # option column aligned by display width (目录 is 4 columns)


# --------------------------------------------------------------------------- wrapping Chinese help text

_OPENING = set("（《「『“‘〔【[(")
_CLOSING = set("，。、；：？！）》」』”’〕】…—,.;:?!)]%")


def _wide(ch: str) -> bool:
    import unicodedata

    return unicodedata.east_asian_width(ch) in "WF"


def _width(text: str) -> int:
    return sum(2 if _wide(c) else 1 for c in text)


def _join_lines(lines: list[str]) -> str:
    """A paragraph's source lines as one: no space where a line break falls next to Chinese text
    (click joins with a space, which reads as a stray gap: "的学校。 有表单")."""
    out = lines[0].rstrip()
    for line in lines[1:]:
        line = line.strip()
        if not line:
            continue
        if out and (_wide(out[-1]) or _wide(line[0])):
            out += line
        else:
            out += " " + line
    return out


def _unit_end(text: str, i: int) -> int:
    """End of the unit starting at ``i``: one Chinese character, or a Latin word."""
    if _wide(text[i]):
        return i + 1
    j = i
    while j < len(text) and text[j] != " " and not _wide(text[j]):
        j += 1
    return j


def _tokens(text: str) -> list[str]:
    """Units a line may break between: a Latin word or one Chinese character, with the opening
    marks before it and the closing marks after it (no line ends on 《 or starts on 。), or a run
    of spaces."""
    out: list[str] = []
    i = 0
    while i < len(text):
        j = i
        if text[i] == " ":
            while j < len(text) and text[j] == " ":
                j += 1
        else:
            while j < len(text) and text[j] in _OPENING:
                j += 1
            if j < len(text) and text[j] != " ":
                j = _unit_end(text, j)
            while j < len(text) and text[j] in _CLOSING:
                j += 1
        out.append(text[i:j])
        i = j
    return out


def term_len(x: str) -> int:
    """Display columns of ``x`` without its ANSI escapes (click counts characters)."""
    from click._compat import strip_ansi

    return _width(strip_ansi(x))


def cjk_fill(text: str, width: int, initial_indent: str = "", subsequent_indent: str = "") -> str:
    """Fill ``text`` to ``width`` display columns (a Chinese character is two), breaking between
    Chinese characters and at spaces, never before a closing or after an opening mark, and never
    leaving a last line of three characters or fewer when the line before can give one unit."""
    lines: list[list[str]] = [[]]
    used = _width(initial_indent)
    for tok in _tokens(text):
        if tok.isspace():
            if lines[-1]:
                lines[-1].append(tok)
                used += len(tok)
            continue
        w = _width(tok)
        if lines[-1] and used + w > width:
            lines.append([])
            used = _width(subsequent_indent)
        lines[-1].append(tok)
        used += w

    def strip(line: list[str]) -> list[str]:
        while line and line[-1].isspace():
            line = line[:-1]
        return line

    if len(lines) > 1 and _width("".join(lines[-1]).strip()) <= 6:
        body = strip(lines[-2])
        if len(body) > 2:
            moved = lines[-2][len(body) - 1:]  # the last unit, with the spaces after it
            lines[-2] = strip(body[:-1])
            lines[-1] = moved + lines[-1]
    out = [initial_indent + "".join(strip(lines[0])).rstrip()]
    out += [subsequent_indent + "".join(strip(line)).rstrip() for line in lines[1:]]
    return "\n".join(out)


def wrap_text(text: str, width: int = 78, initial_indent: str = "", subsequent_indent: str = "",
              preserve_paragraphs: bool = False) -> str:
    """click.formatting.wrap_text with Chinese-aware joining and filling (same paragraph rules:
    blank lines separate paragraphs, a paragraph opened by a ``\\b`` line is kept as written)."""
    text = text.expandtabs()
    if not preserve_paragraphs:
        return cjk_fill(_join_lines(text.splitlines() or [""]), width, initial_indent, subsequent_indent)
    paragraphs: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    out = []
    for para in paragraphs:
        if not para:
            continue
        indent = " " * (len(para[0]) - len(para[0].lstrip()))
        if para[0].strip() == "\b":
            out.append("\n".join(initial_indent + indent + ln for ln in para[1:]))
        else:
            out.append(cjk_fill(_join_lines([p.strip() for p in para]), width,
                                initial_indent + indent, subsequent_indent + indent))
    return "\n\n".join(out)
