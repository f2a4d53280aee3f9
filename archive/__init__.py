"""The encrypted archive: on-disk format, keys, catalog, audit chain, verification, transfer."""
