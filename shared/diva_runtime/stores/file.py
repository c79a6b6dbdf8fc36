"""Embedded local state: one JSON document on disk.

Writes go to a temporary file in the same directory and are renamed over the document
(atomic on POSIX), under an exclusive `flock` on a sidecar lock file; inside the lock each
changed event's stored version is checked, so two `diva run` processes sharing the file
build on each other's updates instead of overwriting them.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from contracts.state import EventState, dump_document, load_document
from diva_core.errors import CorruptStateError, StaleStateError, StoreUnavailableError
from diva_runtime.stores.base import Snapshot


class FileStateStore:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.description = f"file:{self.path}"
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self._lock_path, "a+b")
        except OSError as exc:
            raise StoreUnavailableError(f"{self.description}: cannot open lock file: {exc}") from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> tuple[dict[str, EventState], str | None]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            raise StoreUnavailableError(f"{self.description}: cannot read state: {exc}") from exc
        try:
            states = load_document(raw)
        except (ValidationError, ValueError) as exc:
            first = str(exc).splitlines()[0:3]
            raise CorruptStateError(
                f"{self.description}: state file is not valid DIVA state ({' '.join(first)}); "
                "it was left untouched: fix or move it away"
            ) from exc
        return states, hashlib.sha256(raw).hexdigest()

    def load(self, names: Collection[str] | None = None) -> Snapshot:
        with self._locked(exclusive=False):
            states, token = self._read()
        if names is not None:
            wanted = set(names)
            states = {name: state for name, state in states.items() if name in wanted}
        return Snapshot(states, token)

    def commit(self, base: Snapshot, changes: Mapping[str, EventState]) -> Snapshot:
        if not changes:
            return base
        with self._locked(exclusive=True):
            current, _ = self._read()
            stale = [
                name
                for name, change in changes.items()
                if (current[name].version if name in current else 0) != change.version - 1
            ]
            if stale:
                raise StaleStateError(f"{self.description}: changed by another writer: {', '.join(sorted(stale)[:5])}")
            current.update(changes)
            raw = dump_document(current)
            self._write_atomically(raw)
        return Snapshot(current, hashlib.sha256(raw).hexdigest())

    def _write_atomically(self, raw: bytes) -> None:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(raw)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreUnavailableError(f"{self.description}: cannot write state: {exc}") from exc

