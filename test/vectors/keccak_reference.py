#!/usr/bin/env python3
"""Independent reference for the result-digest vectors in test/tools/digest.test.ts.

A straight transcription of Keccak-f[1600] (FIPS 202, with Keccak's original 0x01 padding, as
Ethereum uses), written apart from the library the tool uses. Run: python3 keccak_reference.py
"""
import hashlib

RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
      0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
      0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
      0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
      0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
      0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
M = (1 << 64) - 1


def rol(v, n):
    return ((v << n) | (v >> (64 - n))) & M if n else v


def keccak_f(a):
    for rc in RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = rol(a[x][y], ROT[x][y])
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak256(data: bytes) -> bytes:
    rate = 136
    room = rate - len(data) % rate
    # Pad 0x01 ... 0x80; with one byte of room both bits share it.
    padded = bytes(data) + (b"\x81" if room == 1 else b"\x01" + b"\x00" * (room - 2) + b"\x80")
    state = [[0] * 5 for _ in range(5)]
    for off in range(0, len(padded), rate):
        block = padded[off:off + rate]
        for i in range(rate // 8):
            state[i % 5][i // 5] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        state = keccak_f(state)
    out = b"".join(state[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
    return out


assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
assert keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"

FILE = b"endpoint hit 42 times"
FOLDER = {"a.txt": b"alpha", "b.txt": b"bravo\n", "c.bin": bytes(range(256))}
CALLBACK = "0x" + "00" * 31 + "2a"

print("file    ", "0x" + hashlib.sha256(FILE).hexdigest())
print("folder  ", "0x" + keccak256(b"".join(hashlib.sha256(FOLDER[n]).digest() for n in sorted(FOLDER))).hex())
print("callback", "0x" + keccak256(bytes.fromhex(CALLBACK[2:])).hex())
print("empty   ", "0x" + keccak256(b"").hex())
