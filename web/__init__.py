"""The browser UI (``guanai serve``): pages over the same library functions as the CLI."""
