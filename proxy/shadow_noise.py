"""When legacy may be asked a second time for noise (`proxy.shadow_copies`).

Noise asks cost legacy real work: up to `max_in_flight` more concurrent reads per feature and
worker, outside legacy's own pool and breaker, and a monolith that audits chart views logs each
sampled read twice against the clinician (keep `shadow.compare.noise.sample_percent` low where
that matters). So they are skipped while legacy's breaker is open or its health check fails
(`proxy.upstreams.STATES`), and for `NOISE_PAUSE_SECONDS` after legacy failed a request: a
struggling legacy is not sent more load by Ficus's own measuring.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from proxy.upstreams import STATES, Instance, InstanceStates

NOISE_PAUSE_SECONDS: Final = 30.0


class NoiseGate:
    def __init__(
        self,
        *,
        states: InstanceStates = STATES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._states = states
        self._clock = clock
        self._paused_until: dict[Instance, float] = {}

    def legacy_failed(self, legacy: Instance) -> None:
        self._paused_until[legacy] = self._clock() + NOISE_PAUSE_SECONDS

    def allowed(self, legacy: Instance) -> bool:
        if self._clock() < self._paused_until.get(legacy, 0.0):
            return False
        self._paused_until.pop(legacy, None)
        return self._states.usable(legacy)
