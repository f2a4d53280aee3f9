"""关爱档案 (guanai): encrypted dossiers and official documents for left-behind children.

The distribution has one import root. The card's folders install beneath it::

    guanai.base        errors, atomic files, canonical JSON, time, OOXML constants (no project imports)
    guanai.care        pure rules and the child record         (may import: base)
    guanai.archive     the encrypted archive and transfers     (may import: base, care)
    guanai.generators  documents, PDF, lint                    (may import: base, care, archive)
    guanai.search      encrypted full-text index               (may import: base, care, archive)
    guanai.cli         the ``guanai`` command                   (may import everything)

``templates`` holds files only. The layering is enforced by import-linter (``make test``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("guanai")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled checkout
    __version__ = "0+unknown"
