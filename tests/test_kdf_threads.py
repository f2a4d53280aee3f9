"""Argon2id from several threads at once (the web UI unlocks one archive per login, in threads)."""

from __future__ import annotations

import threading

from guanai.archive import crypto


def test_concurrent_argon2id_completes_and_agrees() -> None:
    params = crypto.KdfParams(salt=b"s" * 16, iterations=1, lanes=4, memory_cost=8 * 1024)
    expected = crypto.argon2id("口令 passphrase", params)
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(crypto.argon2id("口令 passphrase", params)),
                                daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "Argon2id hung with concurrent callers"
    assert results == [expected] * 4
