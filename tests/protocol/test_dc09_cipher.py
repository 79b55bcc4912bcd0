"""Our CBC chaining on reusable ECB contexts is AES-CBC with a zero IV, byte for byte."""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.dc09 import Dc09Key
from protocol.dc09.cipher import decrypt, encrypt


def _reference(raw: bytes, plaintext: bytes) -> bytes:
    context = Cipher(algorithms.AES(raw), modes.CBC(bytes(16))).encryptor()
    return context.update(plaintext) + context.finalize()


@settings(max_examples=300, deadline=None)
@given(raw=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       blocks=st.integers(1, 12), data=st.data())
def test_encrypt_and_decrypt_are_aes_cbc_with_a_zero_iv(raw: bytes, blocks: int, data: st.DataObject) -> None:
    plaintext = data.draw(st.binary(min_size=16 * blocks, max_size=16 * blocks))
    key = Dc09Key(raw)
    sealed = encrypt(key, plaintext)
    assert sealed == _reference(raw, plaintext)
    assert decrypt(key, sealed) == plaintext
    assert encrypt(key, plaintext) == sealed  # the reused contexts keep no state between messages


def test_threads_each_get_correct_results() -> None:
    key = Dc09Key(b"K" * 16)
    messages = [bytes([i]) * 48 for i in range(64)]
    wrong: list[int] = []

    def work() -> None:
        for _ in range(200):
            for i, message in enumerate(messages):
                if decrypt(key, encrypt(key, message)) != message:
                    wrong.append(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert wrong == []
