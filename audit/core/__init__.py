"""The audit core: what every layer writes to and reads.

The entry and its subjects, the seals and checkpoints of the hash chain, the log writer, masking,
the refusal tally, the append-only guards and roles, and every audit model — the rights-request,
breach and review models included, since models are data that lower layers may read (the DPO
gate in `disclose()` reads rights requests). It imports only the kernel.
"""
