"""PAdES signatures on the PDFs a school exports, bound to its identity in the county directory.

Why a second key: the school identity (archive/identity.py) signs with Ed25519, which poppler's
``pdfsig`` and most PDF readers reject; PDF signatures use ECDSA P-256 (NOTES.md). The archive
keeps one P-256 key and a self-issued X.509 certificate (sealed setting ``pdf_signing``). The
certificate carries a *binding* extension: the school's Ed25519 identity key signs (purpose
``pdf-signing-key``) a statement naming the school code, county, card fingerprint and the SHA-256
of the certificate's public key. The county directory vouches for the Ed25519 key; the Ed25519
key vouches for the P-256 key. ``verify_pdf`` checks all three links:

1. the CMS signature over the signed byte ranges (pyHanko): intact, valid, covering the whole
   file (nothing appended after signing);
2. the binding: its public-key hash equals the certificate's key, and the Ed25519 signature over
   the statement verifies with the key it names;
3. the directory (when the verifying archive holds one): the school code is listed, not revoked,
   and its card's signing key is the one in the binding.

PDF/A: the signature is an incremental update (the LibreOffice PDF/A-2b bytes stay an unchanged
prefix) that leaves the Info dictionary and the XMP packet untouched (``_writer``), so the PDF/A
identification stays and Info and XMP still agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guanai.base.errors import FormatError, InputError, IntegrityError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

    from guanai.archive.store import Archive
    from guanai.archive.transfer.directory import Directory
    from guanai.archive.transfer.docsig import DocCheck
    from guanai.archive.transfer.identity import Card, Identity

SETTING = "pdf_signing"
PURPOSE = "pdf-signing-key"
#: OID of the binding extension: a UUID OID (ITU-T X.667, arc 2.25), no registration needed.
BINDING_OID = "2.25.161388028001061565499970606520663619873"
BINDING_FORMAT = "guanai-pdf-key-binding"
CERT_YEARS = 10
FIELD_NAME = "学校签名"
MAX_PDF_BYTES = 256 * 1024 * 1024
#: Room reserved in the file for the CMS signature container.
SIGNATURE_BYTES = 8192


# --------------------------------------------------------------------------- the key


@dataclass(frozen=True)
class SigningKey:
    """This archive's PDF signing key and its certificate (private key in memory while open)."""

    key: EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_der(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.cert.public_bytes(serialization.Encoding.DER)


def _spki_sha256(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import serialization

    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def _statement(binding: dict[str, Any]) -> bytes:
    from guanai.archive.transfer.identity import canonical_json

    return canonical_json({k: binding[k] for k in ("format", "code", "county", "card", "sign_key", "spki_sha256")})


def new_signing_key(ident: Identity, now: dt.datetime | None = None) -> SigningKey:
    """A fresh P-256 key with a self-issued certificate naming the school and bound to ``ident``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    card = ident.card
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, card.county),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, card.name),
        x509.NameAttribute(NameOID.COMMON_NAME, card.name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, card.code),
    ])
    now = now or dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=365 * CERT_YEARS))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False, decipher_only=False), critical=True))
    # the binding names the public key: sign a throw-away certificate to learn its SPKI hash first
    probe = builder.sign(key, hashes.SHA256())
    binding: dict[str, Any] = {"format": BINDING_FORMAT, "code": card.code, "county": card.county,
                               "card": card.fingerprint, "sign_key": card.sign_key.hex(),
                               "spki_sha256": _spki_sha256(probe)}
    binding["sig"] = ident.sign(PURPOSE, _statement(binding)).hex()
    ext = x509.UnrecognizedExtension(x509.ObjectIdentifier(BINDING_OID),
                                     json.dumps(binding, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    cert = builder.add_extension(ext, critical=False).sign(key, hashes.SHA256())
    return SigningKey(key, cert)


def get_signing_key(arc: Archive, *, create: bool = True) -> SigningKey:
    """This archive's PDF signing key; made at first use (bound to the archive's identity)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

    from guanai.archive.transfer.identity import canonical_json, get_identity
    from guanai.base.errors import PermissionDenied

    raw = arc.get_setting(SETTING)
    ident = get_identity(arc, create=create)
    if raw is not None:
        try:
            stored = json.loads(raw)
            key = serialization.load_der_private_key(bytes.fromhex(stored["key"]), password=None)
            cert = x509.load_der_x509_certificate(bytes.fromhex(stored["cert"]))
        except (ValueError, KeyError, TypeError) as err:
            raise FormatError("PDF 签名密钥记录已损坏。", "运行 guanai verify 检查档案库。") from err
        if not isinstance(key, EllipticCurvePrivateKey):
            raise FormatError("PDF 签名密钥不是 ECDSA 密钥。", "运行 guanai verify 检查档案库。")
        found = SigningKey(key, cert)
        binding = read_binding(cert)
        # a key made for an earlier identity (or card name) is replaced, never used
        if binding.get("card") == ident.card.fingerprint:
            return found
    if not create:
        raise PermissionDenied("本档案库尚未生成 PDF 签名密钥。", "由管理员或文书执行一次 guanai doc sign 即可生成。")
    made = new_signing_key(ident)
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    arc.set_setting(SETTING, canonical_json({
        "version": 1,
        "key": made.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()).hex(),
        "cert": made.cert_der.hex(),
    }))
    arc.audit("pdf_signing.create", ident.card.code, {"spki_sha256": _spki_sha256(made.cert)})
    return made


def read_binding(cert: x509.Certificate) -> dict[str, Any]:
    """The binding statement in ``cert`` ({} when it has none or it cannot be read)."""
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(BINDING_OID))
    except x509.ExtensionNotFound:
        return {}
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension) or len(value.value) > 4096:
        return {}
    try:
        obj = json.loads(value.value.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return obj if isinstance(obj, dict) and obj.get("format") == BINDING_FORMAT else {}


# --------------------------------------------------------------------------- signing

def _signer(sk: SigningKey) -> Any:
    from asn1crypto import keys as akeys
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    cert = ax509.Certificate.load(sk.cert_der)
    key = akeys.PrivateKeyInfo.load(sk.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()))
    return signers.SimpleSigner(signing_cert=cert, signing_key=key,
                                cert_registry=SimpleCertificateStore.from_certs([cert]))


def _writer(pdf: bytes) -> Any:
    """An incremental writer that leaves the document metadata as it is.

    pyHanko normally appends itself to the Info ``/Producer`` and, for a document with XMP,
    replaces the XMP packet with one holding only its producer and a modify date: the PDF/A
    identification (``pdfaid:part``) is lost and Info and XMP disagree. PDF/A-2 needs both, so the
    signature's update leaves the Info dictionary and the XMP packet exactly as LibreOffice wrote
    them (the signature itself records when it was made). tests/test_pdf_sign.py checks this.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    class _KeepMetadata(IncrementalPdfFileWriter):
        def _update_meta(self) -> None:  # pyHanko hook, see the docstring
            return None

    return _KeepMetadata(io.BytesIO(pdf), strict=False)


#: Face of the visible signature's text (the body face of the 公文; installed by make system-deps).
STAMP_FONT = Path("/usr/local/share/fonts/guanai/FandolFang-Regular.otf")
STAMP_W, STAMP_H = 176.0, 44.0


def _stamp_box(pdf: bytes) -> tuple[int, tuple[float, float, float, float]]:
    """(page index, box) of a visible signature: just below the 成文日期 of a 公文, centred on it,
    else at the top right of the last page."""
    from guanai.generators import gbt9704 as G
    from guanai.generators.lint import pdf_lines

    pages = pdf_lines(pdf)
    mm = 72 / 25.4
    right = (G.PAGE_WIDTH_MM - G.MARGIN_RIGHT_MM) * mm
    height = G.PAGE_HEIGHT_MM * mm
    centre_x = right - G.DATE_RIGHT_CHARS_SEAL * G.BODY_SIZE_PT - 3.5 * G.BODY_SIZE_PT
    for n in range(len(pages) - 1, -1, -1):
        dates = [ln for ln in pages[n] if ln.size > G.RECORD_SIZE_PT + 0.5 and G.DATE_RE.match(ln.text.replace(" ", ""))]
        if dates:
            base = height - dates[-1].top  # the date's baseline, from the page's bottom
            return n, (centre_x - STAMP_W / 2, base - 8 - STAMP_H, centre_x + STAMP_W / 2, base - 8)
    top = height - G.MARGIN_TOP_MM * mm
    return len(pages) - 1, (right - STAMP_W, top - STAMP_H, right, top)


def _stamp(pdf: bytes, writer: Any) -> Any:
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields
    from pyhanko.stamp import TextStampStyle

    if not STAMP_FONT.is_file():
        raise InputError("可见签名需要 FandolFang 仿宋字体。", "执行 make system-deps（或 tools/install_fandol.sh）后重试；或不加 --visible。")
    page, box = _stamp_box(pdf)
    x1, y1, x2, y2 = (round(v) for v in box)
    fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=page,
                                                              box=(x1, y1, x2, y2)))
    class _FontInMemory(GlyphAccumulatorFactory):
        """pyHanko's factory opens the font file and never closes it: hand it the bytes instead."""

        def create_font_engine(self, writer: Any, obj_stream: Any = None) -> Any:
            from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

            if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                obj_stream = writer.prepare_object_stream()
            return GlyphAccumulator(writer=writer, font_handle=io.BytesIO(Path(self.font_file).read_bytes()),
                                    font_size=self.font_size, obj_stream=obj_stream)

    # the time printed on the stamp is this machine's local time (pyHanko's %(ts)s is UTC, which
    # reads as the wrong hour on a Chinese document); the signature itself records the exact instant
    local = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return TextStampStyle(stamp_text="%(signer)s\n数字签名 " + local, border_width=1,
                          text_box_style=TextBoxStyle(font=_FontInMemory(str(STAMP_FONT), font_size=9)))


def _parse_errors() -> tuple[type[BaseException], ...]:
    from pyhanko.pdf_utils.misc import PdfError

    # what pyHanko lets out on a hostile file besides its own PdfError: deep nesting or a long
    # /Kids chain (RecursionError), a wrong type where it expects another (AttributeError, ...)
    return (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError,
            OverflowError, AssertionError, UnicodeError)


def _refuse_hostile(pdf: bytes) -> None:
    """InputError for a file that claims more objects than any PDF the archive makes or carries:
    the parser would spend seconds to minutes on it (``pdfa.declared_objects``)."""
    from guanai.generators.pdfa import MAX_OBJECTS, declared_objects

    count = declared_objects(pdf)
    if count > MAX_OBJECTS:
        raise InputError(f"PDF 结构异常：声明了约 {count} 个对象（上限 {MAX_OBJECTS}），不予解析。",
                         "学校生成的公文只有几百个对象；文件可能是恶意构造的，请向发送方核实。")


def _why(err: BaseException) -> str:
    if isinstance(err, RecursionError):
        return "嵌套过深"
    return str(err)[:200] or type(err).__name__


def sign_pdf(pdf: bytes, sk: SigningKey, *, reason: str = "学校签发", location: str | None = None,
             visible: bool = False) -> bytes:
    """``pdf`` with a PAdES (ETSI.CAdES.detached) signature by ``sk`` appended; ``visible``: with a
    stamp (school name and signing time, in FandolFang) below the 成文日期, else invisible."""
    from pyhanko.sign import fields, signers
    from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata

    if not pdf.startswith(b"%PDF-"):
        raise InputError("不是 PDF 文件，无法签名。", "只能给 PDF 签名；.docx 请先用 --pdf 生成 PDF。")
    _refuse_hostile(pdf)
    from guanai.generators.pdfa import active_content

    running = active_content(pdf)
    if running:  # the school's signature must not vouch for what a file does when opened
        raise InputError(f"PDF 含有打开或点击时会执行的内容（{'；'.join(running[:3])}），本校不为其签名。",
                         "用本系统生成的 PDF，或用原软件去掉脚本与动作后重新存为 PDF/A 再签名。")
    if has_signature(pdf):  # a second, incremental signature would cut the first down to a revision
        raise InputError("此 PDF 已有数字签名，不再加签。",
                         "已签名的 PDF 原样使用即可；用 guanai doc verify 文件 查看是谁签的。")
    try:
        writer = _writer(pdf)
        if writer.prev.encrypted:
            raise InputError("PDF 设有口令（已加密），无法签名。",
                             "用原软件去掉口令后重新存为 PDF；PDF/A 也不允许加密。")
        style = _stamp(pdf, writer) if visible else None
        meta = PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha256", reason=reason,
                                    location=location, subfilter=fields.SigSeedSubFilter.PADES)
        # a fixed reservation: pyHanko would otherwise sign once more just to measure the CMS
        # (ECDSA P-256 + our certificate: ~1.3 KB; 8 KB leaves room for a longer chain)
        out = signers.PdfSigner(meta, signer=_signer(sk), stamp_style=style).sign_pdf(
            writer, bytes_reserved=SIGNATURE_BYTES)
    except _parse_errors() as err:
        raise InputError(f"无法签名此 PDF（{_why(err)}）。", "文件可能已损坏；请重新生成 PDF。") from err
    return bytes(out.getvalue())


def sign_archive_pdf(arc: Archive, pdf: bytes, *, reason: str = "学校签发", visible: bool = False) -> bytes:
    """``pdf`` signed with this archive's key (made at first use); the signing is audited."""
    sk = get_signing_key(arc, create=True)
    signed = sign_pdf(pdf, sk, reason=reason, location=arc.info.school_name, visible=visible)
    arc.audit("pdf.sign", None, {"sha256": hashlib.sha256(signed).hexdigest(), "reason": reason})
    return signed


# --------------------------------------------------------------------------- verifying


@dataclass
class SignatureReport:
    """What ``guanai doc verify`` says about one signature."""

    field_name: str
    signer: str  # certificate common name
    school_code: str | None
    signed_at: str | None
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the CMS signature verifies with the certificate's key
    whole_file: bool  # the signature covers the whole file (nothing appended afterwards)
    bound: bool  # the certificate's key is vouched for by the school identity it names
    directory: str  # known / own / unknown / revoked / mismatch / unchecked
    school_name: str | None = None
    fingerprint: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.whole_file and self.bound and self.directory in ("known", "own")

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field_name, "signer": self.signer, "school_code": self.school_code,
                "school_name": self.school_name, "signed_at": self.signed_at, "intact": self.intact,
                "valid": self.valid, "whole_file": self.whole_file, "bound": self.bound,
                "directory": self.directory, "card_fingerprint": self.fingerprint, "ok": self.ok,
                "problems": self.problems}


def _check_binding(cert: x509.Certificate, report: SignatureReport) -> dict[str, Any]:
    from guanai.archive.transfer.identity import verify

    binding = read_binding(cert)
    if not binding:
        report.problems.append("签名证书没有学校身份绑定（不是本系统的学校签名）")
        return {}
    if binding.get("spki_sha256") != _spki_sha256(cert):
        report.problems.append("身份绑定所指的公钥与签名证书的公钥不符")
        return binding
    try:
        sig = bytes.fromhex(str(binding.get("sig", "")))
        sign_key = bytes.fromhex(str(binding.get("sign_key", "")))
        verify(sign_key, PURPOSE, _statement(binding), sig, "PDF 签名密钥的身份绑定")
    except (ValueError, KeyError, IntegrityError, FormatError):
        report.problems.append("身份绑定的签名无效（证书被改动或伪造）")
        return binding
    report.bound = True
    return binding


def _check_directory(binding: dict[str, Any], directory: Directory | None, report: SignatureReport,
                     own: Card | None = None) -> None:
    from guanai.base.errors import NotFoundError

    if directory is None and own is not None and own.code == binding.get("code") \
            and own.sign_key.hex() == binding.get("sign_key") and own.fingerprint == binding.get("card"):
        report.directory = "own"  # this archive's own school identity: no directory needed to know it
        report.school_name = own.name
        report.fingerprint = own.fingerprint
        return
    if directory is None:
        report.directory = "unchecked"
        report.problems.append("未核对县级学校目录（本机档案库没有导入目录，或未打开档案库）")
        return
    code = str(binding.get("code", ""))
    try:
        card = directory.lookup(code)
    except NotFoundError:
        report.directory = "unknown"
        report.problems.append(f"学校代码 {code} 不在县级学校目录中（目录第 {directory.serial} 版）")
        return
    except IntegrityError:
        report.directory = "revoked"
        report.problems.append(f"学校 {code} 的身份已被县教体局吊销")
        return
    if card.sign_key.hex() != binding.get("sign_key") or card.fingerprint != binding.get("card"):
        report.directory = "mismatch"
        report.problems.append(f"签名所用的身份与县级目录中 {card.name}（{code}）的身份不符（冒用学校名称？）")
        return
    report.directory = "known"
    report.school_name = card.name
    report.fingerprint = card.fingerprint


def verify_pdf(pdf: bytes, directory: Directory | None = None, *, own: Card | None = None) -> list[SignatureReport]:
    """Every signature of ``pdf`` checked (see module doc); InputError when it is not a readable PDF.

    ``own``: the verifying archive's own identity card: without a directory, a signature by this
    very school is still recognised (``directory == "own"``)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    if len(pdf) > MAX_PDF_BYTES:
        raise InputError(f"PDF 过大（{len(pdf) // (1024 * 1024)} MB）。", "签名的公文通常只有几百 KB。")
    if not pdf.startswith(b"%PDF-"):
        raise InputError("不是 PDF 文件。", "给出要核验的 .pdf 文件。")
    _refuse_hostile(pdf)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except _parse_errors() as err:
        raise InputError(f"无法读取 PDF（{_why(err)}）。", "文件可能已损坏或被截断。") from err
    reports = []
    cant_check: tuple[type[BaseException], ...] = (SignatureValidationError, *_parse_errors())
    for sig in embedded:
        report = SignatureReport(sig.field_name, "", None, None, False, False, False, False, "unchecked")
        try:
            asn1_cert = sig.signer_cert
            cert = x509.load_der_x509_certificate(asn1_cert.dump())
            names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            report.signer = str(names[0].value) if names else ""
            codes = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
            report.school_code = str(codes[0].value) if codes else None
            status = validate_pdf_signature(
                sig, ValidationContext(trust_roots=[asn1_cert], allow_fetching=False))
            report.intact, report.valid = bool(status.intact), bool(status.valid)
            report.whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
            if status.signer_reported_dt is not None:
                report.signed_at = status.signer_reported_dt.astimezone(dt.UTC).isoformat()
        except cant_check as err:
            report.problems.append(f"签名无法核验（{_why(err)}）")
            reports.append(report)
            continue
        if not report.intact:
            report.problems.append("签名后文件内容被改动")
        elif not report.valid:
            report.problems.append("签名值无效")
        if report.intact and not report.whole_file:
            report.problems.append("签名之后文件又被追加了内容（签名只覆盖文件的前一部分）")
        binding = _check_binding(cert, report)
        if report.bound:
            _check_directory(binding, directory, report, own)
        reports.append(report)
    return reports


# --------------------------------------------------------------------------- exports and transfers


def has_signature(pdf: bytes) -> bool:
    """Whether ``pdf`` already carries a signature (InputError when it is not a readable PDF)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not pdf.startswith(b"%PDF-"):
        raise InputError("不是 PDF 文件，无法签名。", "只能给 PDF 签名。")
    if b"/ByteRange" not in pdf:  # every signature dictionary has one: the common case costs no parse
        return False
    _refuse_hostile(pdf)
    try:
        return bool(list(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures))
    except _parse_errors() as err:
        raise InputError(f"无法读取 PDF（{_why(err)}）。", "文件可能已损坏。") from err


def pdf_signer(arc: Archive, *, reason: str = "学校签发") -> Callable[[bytes], bytes | None]:
    """The ``PdfSigner`` handed to ``export_documents`` and transfer export: signs a PDF with this
    archive's key (made at first use, so the archive must be writable), invisible; returns None for
    a PDF that already carries a signature (left as it is: an incremental second signature would
    make ``verify_pdf`` report the first as "appended after signing")."""
    key: list[SigningKey] = []

    def sign(pdf: bytes) -> bytes | None:
        if has_signature(pdf):
            return None
        if not key:
            key.append(get_signing_key(arc, create=True))
        return sign_pdf(pdf, key[0], reason=reason, location=arc.info.school_name)

    return sign


def check_document(pdf: bytes, directory: Directory) -> DocCheck:
    """The ``DocChecker`` for a carried PDF: ``valid`` when it has signatures and every one passes
    ``verify_pdf`` against ``directory``; ``invalid`` otherwise; ``unsigned`` without a signature.
    InputError when the bytes are not a readable PDF."""
    from guanai.archive.transfer.docsig import INVALID, UNSIGNED, VALID, DocCheck

    reports = verify_pdf(pdf, directory)
    if not reports:
        return DocCheck(UNSIGNED)
    signers = tuple(f"{r.school_name or r.signer}（{r.school_code or '代码未知'}）" for r in reports)
    problems = tuple(p for r in reports for p in r.problems)
    return DocCheck(VALID if all(r.ok for r in reports) else INVALID, signers, problems)
