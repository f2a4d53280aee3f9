"""Files only: the .docx templates (built by ``tools/build_templates.py``) and sample forms.

Code locates them through :mod:`guanai.generators.assets`."""
