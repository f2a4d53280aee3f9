"""Transfers between archives (档案随人走): the seam between one school's archive and another's.

Modules, bottom up (FORMAT.md "Transfer package"; docs/ARCHITECTURE.md):

- ``identity``   a school's (or the county's) signing + HPKE key pair and its public card
- ``directory``  the county directory of cards, signed by the county, imported by schools
- ``slip``       the 档案转接单 facts and the ``SlipRenderer`` callback that typesets them
- ``bag``        the inner BagIt bag: build, bounded reading, our own complete checks
- ``bagit_check`` the ``bagit`` reference validator on a private, wiped temporary copy
- ``envelope``   the outer ``.gtp`` file: HPKE to the recipient, Ed25519 by the sender
- ``receipt``    the signed accept/reject receipt
- ``docsig``     the school's PAdES signature on each carried PDF (signer and checker passed in)
- ``state``      what an archive remembers of its transfers (sealed settings)
- ``outgoing``   export (转学) and export by destination (升学)
- ``incoming``   inspect, open, accept, reject
- ``retention``  confirm a receipt at the sender; retention and its expiry

The flow (docs/ARCHITECTURE.md): the sender exports a signed + encrypted package to a school listed
in the county directory; the receiver verifies the signature against its own copy of the
directory, decrypts, validates the bag, shows a summary, then accepts (everything is re-sealed
under the receiver's keys in ONE transaction) or rejects; either way it writes a signed receipt.
The sender verifies the receipt and marks the children 转出 (accepted) or 在册 (rejected), keeping
what the retention policy allows.

The names below are the API the command line (and a browser UI) calls.
"""

from guanai.archive.transfer.bag import DEFAULT_LIMITS, Limits
from guanai.archive.transfer.docsig import DocCheck, DocChecker
from guanai.archive.transfer.incoming import (
    ImportResult,
    OpenedPackage,
    accept,
    inspect_package,
    open_package,
    reject,
)
from guanai.archive.transfer.outgoing import ExportResult, export_by_destination, export_package, read_mapping
from guanai.archive.transfer.retention import ConfirmResult, Expired, Retention, confirm, expire_retention
from guanai.archive.transfer.slip import SLIP_NAME, Slip, SlipRenderer, SlipRow
from guanai.archive.transfer.state import HIST_SETTING, IN_SETTING, OUT_SETTING, PURPOSES, list_transfers

__all__ = [
    "DEFAULT_LIMITS", "HIST_SETTING", "IN_SETTING", "OUT_SETTING", "PURPOSES", "SLIP_NAME",
    "ConfirmResult", "DocCheck", "DocChecker", "Expired", "ExportResult", "ImportResult", "Limits", "OpenedPackage", "Retention", "Slip",
    "SlipRenderer", "SlipRow", "accept", "confirm", "expire_retention", "export_by_destination", "export_package",
    "inspect_package", "list_transfers", "open_package", "read_mapping", "reject",
]
