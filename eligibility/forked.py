"""Work split across processes forked from this one, each on a database connection of its own
(ADR 51): the rules over a big programme use both cores.

`Forked(work, parts)` forks one child per part. A child runs `work(part)`, which yields values
that `marshal` writes (str, bytes, int, None, tuple, list, dict), sends each to the parent through
a pipe as it is made, and ends with `os._exit`: it runs no exit handler and never closes the
connection it inherited (that socket is the parent's session), it opens its own. The parent reads
`results()` as they come. A child that fails sends the error's kind and message and the parent
raises `ForkedWorkFailed` with them; leaving the block early (an error in the parent) ends the
children and waits for them, so none outlives it.

A child reads what is committed when it runs, not what the parent's transaction holds: callers
fork only outside an atomic block, or (recompute) where their own transaction has written nothing
the children read.
"""

from __future__ import annotations

import marshal
import os
import selectors
import signal
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.db import connections

_LENGTH = struct.Struct(">Q")
_VALUE, _ERROR = 0, 1
_inherited: list[Any] = []  # the parent's connections, kept open in a child and never used


class ForkedWorkFailed(RuntimeError):
    """A forked child's work raised: its error's kind and message (no traceback crosses over)."""


def can_fork() -> bool:
    return hasattr(os, "fork")


class Forked:
    def __init__(self, work: Callable[[Any], Iterable[Any]], parts: Sequence[Any]):
        self.children: dict[int, int] = {}  # pipe's read end -> pid
        self.part_of: dict[int, int] = {}  # pipe's read end -> part index
        try:
            for i, part in enumerate(parts):
                read_end, write_end = os.pipe()
                pid = os.fork()
                if pid == 0:  # the child
                    os.close(read_end)
                    _child(work, part, write_end)  # never returns
                os.close(write_end)
                self.children[read_end] = pid
                self.part_of[read_end] = i
        except BaseException:
            self.close()  # no child outlives a failed start
            raise

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def results(self) -> Iterator[tuple[int, Any]]:
        """(part index, value) for every value the children send, in the order they arrive."""
        buffers = {fd: bytearray() for fd in self.children}
        with selectors.DefaultSelector() as selector:
            for fd in self.children:
                selector.register(fd, selectors.EVENT_READ)
            while buffers:
                for key, _ in selector.select():
                    fd = key.fd
                    chunk = os.read(fd, 1 << 20)
                    buffer = buffers[fd]
                    if not chunk:
                        selector.unregister(fd)
                        del buffers[fd]
                        if buffer:
                            raise ForkedWorkFailed("A forked child's output ended part-way through a value.")
                        self._reap(fd)
                        continue
                    buffer += chunk
                    for kind, value in _frames(buffer):
                        if kind == _ERROR:
                            raise ForkedWorkFailed(value)
                        yield self.part_of[fd], value

    def close(self) -> None:
        """End every child still running and wait for it (after `results`, none is left)."""
        for fd in list(self.children):
            try:
                os.kill(self.children[fd], signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(fd, check=False)  # an error is already on its way up, or the block was left early

    def _reap(self, fd: int, *, check: bool = True) -> None:
        pid = self.children.pop(fd)
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        if check and os.waitstatus_to_exitcode(status) != 0:
            raise ForkedWorkFailed(f"A forked child ended with status {os.waitstatus_to_exitcode(status)}.")


def _frames(buffer: bytearray) -> Iterator[tuple[int, Any]]:
    """Whole frames (kind byte, length, marshal payload) taken off the front of `buffer`."""
    while len(buffer) >= 1 + _LENGTH.size:
        (length,) = _LENGTH.unpack_from(buffer, 1)
        end = 1 + _LENGTH.size + length
        if len(buffer) < end:
            return
        # S302: the bytes come from our own forked child, through a pipe only it and we hold
        kind, value = buffer[0], marshal.loads(bytes(buffer[1 + _LENGTH.size: end]))  # noqa: S302
        del buffer[:end]
        yield kind, value


def _child(work: Callable[[Any], Iterable[Any]], part: Any, write_end: int) -> None:
    status = 0
    try:
        for alias in connections:  # keep the parent's sessions untouched; open our own
            wrapper = connections[alias]
            _inherited.append(wrapper.connection)
            wrapper.connection = None
        for value in work(part):
            _send(write_end, _VALUE, value)
    except BaseException as error:  # noqa: BLE001 - every failure is reported to the parent
        status = 1
        try:
            _send(write_end, _ERROR, f"{type(error).__name__}: {error}")
        except BaseException:  # noqa: BLE001, S110 - the parent sees the exit status instead
            pass
    finally:
        try:
            for alias in connections:
                if connections[alias].connection is not None:
                    connections[alias].connection.close()  # ours, not the parent's
        finally:
            os._exit(status)


def _send(fd: int, kind: int, value: Any) -> None:
    payload = marshal.dumps(value)
    view = memoryview(bytes([kind]) + _LENGTH.pack(len(payload)) + payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]
