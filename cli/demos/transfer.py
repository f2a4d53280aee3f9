"""Demo of the transfer flow: county directory, export, import at a second school, receipt, confirm."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guanai.archive.store import Archive


def run_demo(arc: Archive, workdir: Path, passphrase: str, echo: Callable[[str], None]) -> None:
    """Create a county and a second school under ``workdir`` and transfer one child of ``arc`` to it."""
    import shutil

    from guanai.archive import transfer
    from guanai.archive.store import Archive, init_archive
    from guanai.archive.transfer.directory import add_card, import_directory, publish
    from guanai.archive.transfer.identity import get_identity, group_fingerprint
    from guanai.generators.sign import check_document, pdf_signer
    from guanai.generators.slip import render_slip

    workdir = Path(workdir)
    county_path, school_path = workdir / "县教体局档案库", workdir / "转入学校档案库"
    for p in (county_path, school_path):
        if p.exists():
            shutil.rmtree(p)
    init_archive(county_path, school_code=arc.info.county_code, school_name="萧县教育体育局", passphrase=passphrase,
                 county_code=arc.info.county_code, kind="county")
    init_archive(school_path, school_code="3413220002", school_name="萧县圣泉镇中心小学", passphrase=passphrase,
                 county_code=arc.info.county_code, suite="sm4-gcm")
    echo(f"已创建县教体局档案库 {county_path} 与转入学校档案库 {school_path}（国密 SM4-GCM）")

    me = get_identity(arc)
    echo(f"本校身份：{me.card.name}（{me.card.code}），指纹 {group_fingerprint(me.card.fingerprint)}")
    with Archive.open(school_path, user="admin", passphrase=passphrase, write=True) as other:
        other_card = get_identity(other).card
    with Archive.open(county_path, user="admin", passphrase=passphrase, write=True) as county:
        add_card(county, me.card.to_json())
        add_card(county, other_card.to_json())
        data, serial = publish(county)
        county_fp = get_identity(county).card.fingerprint
    directory_file = workdir / "萧县学校目录.json"
    directory_file.write_bytes(data)
    echo(f"县教体局签发学校目录第 {serial} 版：{directory_file}（县局指纹 {group_fingerprint(county_fp)[:19]} …）")
    import_directory(arc, data, county_fingerprint=county_fp)
    with Archive.open(school_path, user="admin", passphrase=passphrase, write=True) as other:
        import_directory(other, data, county_fingerprint=county_fp)
    echo("两校核对县局指纹后导入目录。")

    # the child with the most documents (not the first one: later demo steps add an attachment to it)
    everyone = arc.list_children()
    candidates = [c for c in everyone[1:] if c.status == "在册"]
    if not candidates:
        echo("本校没有可转出的在册儿童，跳过转接演示。")
        return
    counts = {c.id: len(arc.list_documents(child_id=c.id)) for c in candidates}
    child = max(candidates, key=lambda c: counts[c.id])
    package = workdir / f"转接包-{child.record.student_id}.gtp"
    res = transfer.export_package(arc, [child.id], other_card.code, package, render_slip=render_slip,
                                  sign=pdf_signer(arc, reason="档案转接"))
    pdfs = res.signatures.get("pdfs", 0)
    signed = res.signatures.get("signed", 0) + res.signatures.get("kept", 0)
    echo(f"导出转接包：{child.record.name}，文书 {res.documents} 件 → {other_card.name}；{package}（{res.size:,} 字节，"
         "HPKE 加密、Ed25519 签名，内层为 BagIt 1.0" + (f"；PDF {pdfs} 件均加本校数字签名" if pdfs and signed == pdfs
                                                   else f"；PDF {pdfs} 件，签名 {signed} 件" if pdfs else "") + "）")

    with Archive.open(school_path, user="admin", passphrase=passphrase, write=True) as other:
        info = transfer.inspect_package(other, package)
        echo(f"转入学校查看转接包：签名{info['signature']}")
        opened = transfer.open_package(other, package, check_document=check_document)
        sig = opened.signatures or {}
        if sig.get("pdfs"):
            echo(f"转入学校逐份核验 PDF 文书的签名：{sig['pdfs']} 件，有效 {sig['valid']} 件，"
                 f"无效 {sig['invalid']} 件，未签名 {sig['unsigned']} 件")
        result = transfer.accept(other, opened)
        echo(f"转入学校接收：儿童 {len(result.child_ids)} 名、文书 {result.documents} 件已用本校密钥重新加密入库，状态“在册”；"
             f"回执 {result.receipt_path.name}")
    done = transfer.confirm(arc, result.receipt_path)
    echo(f"本校确认回执：{child.record.name} 已标记“转出”，加密副本保留至 {done.retain_until}。")
