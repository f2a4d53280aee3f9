"""Document kinds: form models, rendering, PDF conversion, official-format checks."""
