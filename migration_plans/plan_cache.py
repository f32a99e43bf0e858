"""Plans parsed once per generation of the plan files, not once per request or per poll.

A plan directory's generation is what its plan files say: their names and a hash of their
bytes, with the environment the plans are read with (plans substitute variables from it).
`PlanCache.plans()` hashes the files on every call (a few kilobytes) and parses them only when
that fingerprint changed: reviewed files edited by a deploy, never by a running process. A
broken generation is remembered too, so its error is raised again without parsing again; the
fix is a new generation.

Pure: no Django, no other Ficus module; the loader is passed in (domain.plans'
load_plans, in the control plane's API and the sync worker), so a test can count its loads.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar, cast

T = TypeVar("T")
# What check_plans reads (.yaml) and what it refuses by name (.yml): both change its answer.
PLAN_SUFFIXES = (".yaml", ".yml")

Fingerprint = tuple[tuple[str, str], ...]


def fingerprint(directory: Path, environ: Mapping[str, str]) -> Fingerprint:
    """The plan files' names and content hashes, and the environment's hash."""
    files: list[tuple[str, str]] = []
    try:
        paths = sorted(directory.iterdir())
    except OSError as e:  # missing or unreadable: a generation of its own, the loader says why
        return (("(directory)", type(e).__name__),)
    for path in paths:
        if path.suffix not in PLAN_SUFFIXES:
            continue
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as e:
            digest = f"unreadable: {type(e).__name__}"
        files.append((path.name, digest))
    env = hashlib.sha256(repr(sorted(environ.items())).encode()).hexdigest()
    return (*files, ("(environment)", env))


@dataclass(frozen=True, slots=True)
class _Loaded(Generic[T]):
    fingerprint: Fingerprint
    generation: int
    plans: T | None
    error: Exception | None


class PlanCache(Generic[T]):
    """The plans of one directory, loaded again only when the plan files change."""

    def __init__(
        self,
        directory: Path,
        loader: Callable[[Path], T],
        *,
        environ: Mapping[str, str],
    ) -> None:
        self.directory = directory
        self._loader = loader
        self._environ = environ
        self._lock = threading.Lock()
        self._loaded: _Loaded[T] | None = None

    @property
    def generation(self) -> int:
        """How many generations were loaded so far (0 before the first)."""
        loaded = self._loaded
        return 0 if loaded is None else loaded.generation

    def plans(self) -> T:
        """The current generation's plans; its loader's error if that generation is broken."""
        found = fingerprint(self.directory, self._environ)
        with self._lock:  # one load per generation, however many threads ask at once
            loaded = self._loaded
            if loaded is None or loaded.fingerprint != found:
                generation = 1 if loaded is None else loaded.generation + 1
                try:
                    loaded = _Loaded(found, generation, self._loader(self.directory), None)
                except Exception as e:  # the loader's own error, raised again below
                    loaded = _Loaded(found, generation, None, e)
                self._loaded = loaded
        if loaded.error is not None:
            # A fresh traceback each time: the remembered error's would grow with every raise.
            raise loaded.error.with_traceback(None)
        return cast(T, loaded.plans)  # set whenever error is None


class PlanCaches(Generic[T]):
    """One PlanCache per directory (the control plane's settings can name another one)."""

    def __init__(self, loader: Callable[[Path], T], *, environ: Mapping[str, str]) -> None:
        self._loader = loader
        self._environ = environ
        self._lock = threading.Lock()
        self._caches: dict[Path, PlanCache[T]] = {}

    def of(self, directory: Path) -> PlanCache[T]:
        with self._lock:
            cache = self._caches.get(directory)
            if cache is None:
                cache = self._caches[directory] = PlanCache(
                    directory, self._loader, environ=self._environ
                )
            return cache
