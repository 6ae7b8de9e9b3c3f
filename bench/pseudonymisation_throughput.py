"""Tokens/s, encryptions/s and decryptions/s of our wrappers, each beside the raw primitive
(a stdlib hmac loop, an AESGCM loop) in the same run, with the ratio.

    PORTAL_ENV=test .venv/bin/python bench/pseudonymisation_throughput.py [--seconds 5]

Target: each wrapper reaches at least 0.5 of its raw primitive's throughput.
"""

from __future__ import annotations

import argparse
import hmac
import os
import sys

from _setup import interleaved_rates, test_database

TARGET = 0.5
BATCH = 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with test_database():
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from pseudonymisation.encryption import FieldCipher, binding
        from pseudonymisation.keys import Keyring, KeyScope
        from pseudonymisation.models import Purpose
        from pseudonymisation.tokens import TokenKind, TokenMaker

        ids = [f"P{n:07d}" for n in range(BATCH)]
        maker = TokenMaker(Keyring.load(KeyScope(1, "scoping", Purpose.TOKEN)))
        token_key = maker._key
        cipher = FieldCipher(Keyring.load(KeyScope(1, "trust", Purpose.ENCRYPTION)))
        raw = AESGCM(os.urandom(32))
        values = [f"Synthetic surname {n}" for n in range(BATCH)]
        aads = [binding("eligibility.woman", "surname", f"{n:032x}") for n in range(BATCH)]
        ours_ct = [cipher.encrypt(v, a) for v, a in zip(values, aads, strict=True)]
        raw_nonces = [os.urandom(12) for _ in range(BATCH)]
        raw_ct = [raw.encrypt(n, v.encode(), a) for n, v, a in zip(raw_nonces, values, aads, strict=True)]

        def raw_hmac():
            for p in ids:
                hmac.digest(token_key, f"W|{p}".encode(), "sha256")
            return BATCH

        def our_tokens():
            maker.make_many(TokenKind.WOMAN, ids)
            return BATCH

        def raw_encrypt():
            for v, a in zip(values, aads, strict=True):
                raw.encrypt(os.urandom(12), v.encode(), a)
            return BATCH

        def our_encrypt():
            for v, a in zip(values, aads, strict=True):
                cipher.encrypt(v, a)
            return BATCH

        def raw_decrypt():
            for n, c, a in zip(raw_nonces, raw_ct, aads, strict=True):
                raw.decrypt(n, c, a).decode()
            return BATCH

        def our_decrypt():
            for c, a in zip(ours_ct, aads, strict=True):
                cipher.decrypt(c, a)
            return BATCH

        r = interleaved_rates(
            {"raw hmac": raw_hmac, "tokens": our_tokens, "raw encrypt": raw_encrypt, "encrypt": our_encrypt,
             "raw decrypt": raw_decrypt, "decrypt": our_decrypt},
            args.seconds,
        )
    rows = [("tokens (TokenMaker.make_many)", r["tokens"], "stdlib hmac.digest loop", r["raw hmac"]),
            ("encryptions (FieldCipher.encrypt)", r["encrypt"], "AESGCM.encrypt loop", r["raw encrypt"]),
            ("decryptions (FieldCipher.decrypt)", r["decrypt"], "AESGCM.decrypt loop", r["raw decrypt"])]
    print(f"median of 5 interleaved rounds, {args.seconds}s per case, batches of {BATCH}")
    print(f"{'ours':<36}{'ops/s':>10}   {'baseline':<26}{'ops/s':>10}{'ratio':>8}")
    ok = True
    for name, ours, base_name, base in rows:
        ratio = ours / base
        ok &= ratio >= TARGET
        print(f"{name:<36}{ours:>10.0f}   {base_name:<26}{base:>10.0f}{ratio:>8.2f}")
    print(f"target: every ratio >= {TARGET} -> {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
