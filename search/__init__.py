"""Encrypted, Chinese-aware full-text search over the archive (derived, rebuildable index).

Entry points: :func:`search.index.open_index` (the archive's index, caught up with the
catalog), :func:`search.query.search` (ranked hits), :meth:`search.index.SearchIndex.rebuild`.
"""
