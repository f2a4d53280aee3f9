"""The shared base every layer may use: errors, atomic file helpers, canonical JSON, time,
OOXML constants. It imports nothing else from the project."""
