"""The Library of Congress ``bagit`` reference validator, run on a private temporary copy.

The copy is plaintext: it lives in a ``guanai.base.privtmp`` directory (0700, in RAM where
``/dev/shm`` is available, overwritten before removal, wiped on SIGTERM/SIGHUP too); a copy left by
a killed process (SIGKILL, power loss) is swept before the next validation and at every command's
start.
"""

from __future__ import annotations

import os

from guanai.archive.transfer.bag import bad_package
from guanai.base import privtmp
from guanai.base.errors import Problem

TMP_PREFIX = "guanai-bag-"


def validate_with_bagit(files: dict[str, bytes], package_id: str) -> None:
    """Run the Library of Congress ``bagit`` validator on a private, wiped-after temp copy."""
    import bagit

    privtmp.sweep_stale()  # copies left by a validation that was killed
    with privtmp.private_tmpdir(TMP_PREFIX) as tmp:
        bag_dir = tmp / package_id
        for rel, data in files.items():
            target = bag_dir / rel
            # Names were checked by read_zip already; resolve again as defence in depth.
            if not str(target.resolve()).startswith(str(bag_dir.resolve()) + os.sep):
                raise bad_package([Problem(repr(rel), "不安全的路径", code="bag.path.unsafe")], "转接包被拒绝")
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            bag = bagit.Bag(str(bag_dir))
            bag.validate(processes=1)
        except bagit.BagValidationError as err:
            details = [Problem(str(getattr(d, "path", "") or "bag"), str(d), code="bag.bagit")
                       for d in (err.details or [])] or [Problem("bag", str(err.message), code="bag.bagit")]
            raise bad_package(details, "BagIt 校验器（bagit）报告错误") from err
        except bagit.BagError as err:
            raise bad_package([Problem("bag", str(err), code="bag.bagit")], "BagIt 校验器（bagit）报告错误") from err
