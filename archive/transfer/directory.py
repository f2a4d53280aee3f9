"""The county directory of school cards, signed by the county bureau's key.

County side (an archive made with ``init --kind county``): school cards are added or revoked in
the sealed setting ``county_directory``; ``publish`` writes a signed file with a serial number that
grows with every publication.

School side: ``import_directory`` trusts the county key on first use only after its fingerprint
was confirmed (by the user, or passed explicitly); later directories must be signed by that same
key and must not be older (lower serial) than the one held. The signed file itself is kept (sealed
setting ``directory``) and re-verified against the trusted key whenever it is used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guanai.archive import crypto
from guanai.archive.transfer.identity import (
    Card,
    canonical_json,
    card_from_dict,
    check_code,
    get_identity,
    now_iso,
    split_signed,
    verify,
)
from guanai.base.errors import FormatError, InputError, IntegrityError, NotFoundError, StateError

if TYPE_CHECKING:
    from guanai.archive.store import Archive

DIRECTORY_FORMAT = "guanai-directory"
DIRECTORY_VERSION = 1
COUNTY_SETTING = "county_directory"  # county side: the editable list
HELD_SETTING = "directory"  # school side: the signed file last imported
TRUST_SETTING = "county_trust"  # school side: the county key trusted on first use
MAX_DIRECTORY = 16 << 20


@dataclass(frozen=True)
class Directory:
    county: Card
    serial: int
    issued_at: str
    schools: dict[str, Card]
    revoked: dict[str, dict[str, Any]]
    raw: bytes

    def lookup(self, code: str, role: str = "学校") -> Card:
        """The card of a school; refuses revoked and unknown schools."""
        if code in self.revoked:
            r = self.revoked[code]
            raise IntegrityError(f"{role} {code} 的身份已被县教体局吊销（{r.get('at', '')}，{r.get('reason', '')}）。",
                                 "不接受其转接包或回执；请联系县教体局核实。")
        card = self.schools.get(code)
        if card is None:
            raise NotFoundError(f"{role} {code} 不在县级学校目录中（目录第 {self.serial} 版）。",
                                "请向县教体局索取最新目录并用 guanai directory import 导入。")
        return card


def _require_county(arc: Archive) -> None:
    if arc.info.kind != "county":
        raise StateError("本档案库是学校档案库，不能编辑县级学校目录。",
                         "县级目录由县教体局的档案库（guanai init --kind county ...）维护。")


def _load_county_state(arc: Archive) -> dict[str, Any]:
    raw = arc.get_setting(COUNTY_SETTING)
    if raw is None:
        return {"serial": 0, "schools": {}, "revoked": {}}
    state: dict[str, Any] = json.loads(raw)
    return state


def _save_county_state(arc: Archive, state: dict[str, Any]) -> None:
    arc.set_setting(COUNTY_SETTING, canonical_json(state))


def add_card(arc: Archive, data: bytes, where: str = "身份卡") -> Card:
    """County: add (or replace) a school's card."""
    from guanai.archive.transfer.identity import parse_card

    _require_county(arc)
    arc.require("write")
    card = parse_card(data, where)
    if card.kind != "school":
        raise InputError(f"{where}是县级身份卡，不是学校的。", "请添加学校用 guanai identity export 导出的身份卡。")
    if card.county != arc.info.county_code:
        raise InputError(f"{where}属于县区 {card.county}，本县为 {arc.info.county_code}。",
                         "只添加本县学校的身份卡；外县学校请由其县教体局发布。")
    state = _load_county_state(arc)
    if card.code in state["revoked"]:
        if state["revoked"][card.code].get("fingerprint") == card.fingerprint:
            raise StateError(f"学校 {card.code} 的这张身份卡已被吊销，不能再次添加。",
                             "学校应重新生成密钥（新身份卡）后再添加。")
        del state["revoked"][card.code]
    state["schools"][card.code] = card.to_dict()
    _save_county_state(arc, state)
    arc.audit("directory.add", card.code, {"fingerprint": card.fingerprint, "name": card.name})
    return card


def revoke(arc: Archive, code: str, reason: str = "") -> Card:
    """County: revoke a school's card (takes effect at schools with the next publication)."""
    _require_county(arc)
    arc.require("write")
    check_code(code)
    state = _load_county_state(arc)
    obj = state["schools"].pop(code, None)
    if obj is None:
        raise NotFoundError(f"目录中没有学校 {code}。", "用 guanai directory list 查看已添加的学校。")
    card = card_from_dict(obj)
    state["revoked"][code] = {"at": now_iso(), "reason": reason or "未说明", "fingerprint": card.fingerprint}
    _save_county_state(arc, state)
    arc.audit("directory.revoke", code, {"fingerprint": card.fingerprint, "reason": reason})
    return card


def county_listing(arc: Archive) -> dict[str, Any]:
    _require_county(arc)
    state = _load_county_state(arc)
    return {"serial": state["serial"],
            "schools": [card_from_dict(v).to_dict() for _, v in sorted(state["schools"].items())],
            "revoked": [{"code": k, **v} for k, v in sorted(state["revoked"].items())]}


def publish(arc: Archive) -> tuple[bytes, int]:
    """County: sign and return a new directory file (serial + 1)."""
    _require_county(arc)
    arc.require("write")
    me = get_identity(arc)
    state = _load_county_state(arc)
    serial = int(state["serial"]) + 1
    body: dict[str, Any] = {
        "format": DIRECTORY_FORMAT,
        "version": DIRECTORY_VERSION,
        "county": me.card.to_dict(),
        "serial": serial,
        "issued_at": now_iso(),
        "schools": [v for _, v in sorted(state["schools"].items())],
        "revoked": [{"code": k, **v} for k, v in sorted(state["revoked"].items())],
    }
    signature = me.sign("directory", canonical_json(body))
    data = json.dumps({"body": body, "signature": signature.hex()}, ensure_ascii=False, indent=1,
                      sort_keys=True).encode("utf-8") + b"\n"
    state["serial"] = serial
    _save_county_state(arc, state)
    arc.audit("directory.publish", me.card.code, {"serial": serial, "schools": len(body["schools"])})
    return data, serial


def parse_directory(data: bytes) -> Directory:
    """Check a directory file's structure and its signature by the county key it names.

    The caller still has to decide whether that county key is the trusted one.
    """
    body, signature = split_signed(data, limit=MAX_DIRECTORY, what="县级学校目录文件",
                                   hint="请使用县教体局 guanai directory publish 发布的文件。")
    if not isinstance(body, dict) or body.get("format") != DIRECTORY_FORMAT:
        raise FormatError("不是县级学校目录文件。", "请使用县教体局 guanai directory publish 发布的文件。")
    if body.get("version") != DIRECTORY_VERSION:
        raise FormatError(f"目录格式版本 {body.get('version')!r} 不受支持。", "请升级本软件。")
    county = card_from_dict(body.get("county"), "目录中的县级身份卡")
    if county.kind != "county":
        raise IntegrityError("目录不是由县级身份签发的。", "请使用县教体局发布的目录。")
    verify(county.sign_key, "directory", canonical_json(body), signature, "县级学校目录")
    serial = body.get("serial")
    if not isinstance(serial, int) or serial < 1:
        raise FormatError("目录的版本号无效。", "请向县教体局重新索取。")
    schools: dict[str, Card] = {}
    for obj in body.get("schools") or []:
        card = card_from_dict(obj, "目录中的学校身份卡")
        if card.code in schools:
            raise FormatError(f"目录中学校 {card.code} 出现两次。", "请向县教体局重新索取。")
        schools[card.code] = card
    revoked: dict[str, dict[str, Any]] = {}
    for r in body.get("revoked") or []:
        if not isinstance(r, dict) or not isinstance(r.get("code"), str):
            raise FormatError("目录中的吊销条目格式错误。", "请向县教体局重新索取。")
        revoked[r["code"]] = r
        schools.pop(r["code"], None)
    return Directory(county=county, serial=serial, issued_at=str(body.get("issued_at", "")), schools=schools,
                     revoked=revoked, raw=data)


@dataclass(frozen=True)
class ImportResult:
    directory: Directory
    first_trust: bool
    previous_serial: int | None


def import_directory(arc: Archive, data: bytes, *, county_fingerprint: str | None = None,
                     confirm: Callable[[Directory], bool] | None = None) -> ImportResult:
    """School: import a directory (trust the county key on first use only after confirmation)."""
    from guanai.archive.transfer.identity import normalize_fingerprint

    arc.require("write")
    d = parse_directory(data)
    if d.county.county != arc.info.county_code:
        raise InputError(f"目录属于县区 {d.county.county}（{d.county.name}），本校属于 {arc.info.county_code}。",
                         "请导入本县教体局发布的目录。")
    trust_raw = arc.get_setting(TRUST_SETTING)
    given = normalize_fingerprint(county_fingerprint) if county_fingerprint else None
    previous: Directory | None = None
    if trust_raw is None:
        if given is not None:
            if not crypto.ct_equal(given, d.county.fingerprint):
                raise IntegrityError("目录签发者的指纹与您提供的 --county-fingerprint 不符：目录可能是伪造的。",
                                     "请电话向县教体局核对指纹；不要导入此目录。")
        elif confirm is None or not confirm(d):
            raise StateError("未确认县教体局的密钥指纹，目录未导入。",
                             "电话向县教体局核对指纹后，重新导入并回答 y，或加 --county-fingerprint 指纹。")
        first = True
    else:
        trust = json.loads(trust_raw)
        if not crypto.ct_equal(str(trust["fingerprint"]), d.county.fingerprint):
            raise IntegrityError("此目录不是由本校信任的县教体局密钥签发的。",
                                 f"本校信任的县级密钥指纹为 {trust['fingerprint'][:16]}…；不要导入来历不明的目录。")
        if given is not None and not crypto.ct_equal(given, d.county.fingerprint):
            raise IntegrityError("目录签发者的指纹与 --county-fingerprint 不符。", "请电话向县教体局核对指纹。")
        previous = held_directory(arc)
        if previous is not None:
            if d.serial < previous.serial:
                raise StateError(f"此目录（第 {d.serial} 版）比本校已有的（第 {previous.serial} 版）旧，未导入。",
                                 "请向县教体局索取最新目录；旧目录可能包含已吊销的学校。")
            if d.serial == previous.serial and canonical_json(json.loads(d.raw)) != canonical_json(
                    json.loads(previous.raw)):
                raise IntegrityError(f"目录第 {d.serial} 版与本校已有的同版目录内容不同。", "请联系县教体局核实。")
        first = False
    with arc.transaction():
        if first:
            arc.set_setting(TRUST_SETTING, canonical_json({
                "fingerprint": d.county.fingerprint, "sign_key": d.county.sign_key.hex(),
                "county": d.county.county, "name": d.county.name, "trusted_at": now_iso()}))
        arc.set_setting(HELD_SETTING, data)
        arc.audit("directory.import", d.county.code,
                  {"serial": d.serial, "fingerprint": d.county.fingerprint, "first_trust": first,
                   "schools": len(d.schools), "revoked": len(d.revoked)})
    return ImportResult(d, first, previous.serial if previous else None)


def held_directory(arc: Archive) -> Directory | None:
    """The directory this archive holds, re-verified against the trusted county key."""
    raw = arc.get_setting(HELD_SETTING)
    trust_raw = arc.get_setting(TRUST_SETTING)
    if raw is None or trust_raw is None:
        return None
    d = parse_directory(raw)
    trust = json.loads(trust_raw)
    if not crypto.ct_equal(str(trust["fingerprint"]), d.county.fingerprint):
        raise IntegrityError("本校保存的目录不是由信任的县级密钥签发的。", "运行 guanai verify；重新导入县教体局发布的目录。")
    return d


def checking_directory(arc: Archive) -> Directory | None:
    """The directory a signature is checked against: the one a school imported; for the county's
    own archive (which publishes directories and imports none), the list it keeps, with the
    schools added and revoked since the last publication already counted — the county's word
    on its schools is its current list. None when neither exists."""
    held = held_directory(arc)
    if held is not None or arc.info.kind != "county":
        return held
    from guanai.archive.transfer.identity import has_identity

    if not has_identity(arc):
        return None
    state = _load_county_state(arc)
    return Directory(county=get_identity(arc, create=False).card, serial=int(state["serial"]), issued_at=now_iso(),
                     schools={code: card_from_dict(v) for code, v in state["schools"].items()},
                     revoked=dict(state["revoked"]), raw=b"")


def require_directory(arc: Archive) -> Directory:
    d = held_directory(arc)
    if d is None:
        if arc.info.kind == "county":  # it publishes the directory and imports none
            raise StateError("这是县教体局的档案库：转接包在学校之间收发，县教体局的档案库不导出也不接收。",
                             "由接收学校用它自己的档案库导入；县教体局核验文书签名用 guanai doc verify。")
        raise StateError("本校尚未导入县级学校目录，无法核验对方身份。",
                         "向县教体局索取目录文件，用 guanai directory import 文件 导入。")
    return d
