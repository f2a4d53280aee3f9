"""Where the bundled .docx templates and sample forms are (``guanai.templates`` holds files only)."""

from __future__ import annotations

from pathlib import Path

import guanai.templates

TEMPLATE_DIR = Path(guanai.templates.__file__).resolve().parent
SAMPLES_DIR = TEMPLATE_DIR / "samples"


def template_path(name: str, template_dir: Path | None = None) -> Path:
    """Path of template file ``name`` in ``template_dir`` (default: the bundled templates)."""
    return (template_dir or TEMPLATE_DIR) / name


def sample_path(kind_id: str) -> Path:
    return SAMPLES_DIR / f"{kind_id}.yaml"
