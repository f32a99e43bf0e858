"""Ficus's options, and what they open: plans, control plane, sessions, access log, key.

Shaped like mitmproxy's own addons: `load()` declares the options, `configure()` validates
them and fails fast with `OptionsError`, and fills in the `Runtime` the other addons read.

Routing state comes from the plan files (`ficus_plans`) and, when `ficus_control_db` names a
control-plane database, its route states: `proxy.control_plane` polls that database from a
thread, and a change is compiled and swapped in there (`LivePlans.apply_states`), no restart.
Route stats go the other way (`proxy.route_stats`, flushed from a thread about once a second),
and so does the shadow evidence (`proxy.evidence_recorder`, compared and flushed from its own
thread; samples de-identified with the key in $FICUS_EVIDENCE_KEY, none kept without it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Final

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader
from sqlalchemy import Engine

from proxy.access_log import STDERR, AccessLog
from proxy.control_plane import ControlPlane, control_db_url, control_engine
from proxy.evidence_recorder import EvidenceRecorder, evidence_deidentifier
from proxy.mitm_patches import error_pages
from proxy.route_stats import StatsFlusher
from proxy.runtime import Runtime

logger = logging.getLogger(__name__)

CHECKOUT: Final = Path(__file__).resolve().parent.parent
_OPTIONS: Final = frozenset(
    {
        "ficus_plans",
        "ficus_legacy_db",
        "ficus_access_log",
        "ficus_identity_key",
        "ficus_control_db",
        "ficus_control_url",
    }
)


class FicusOptions:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._control: ControlPlane | None = None
        self._control_engine: Engine | None = None
        self._configured = False

    @property
    def control(self) -> ControlPlane | None:
        """The control-plane poller, while `ficus_control_db` names a database."""
        return self._control

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "ficus_plans",
            str,
            os.environ.get("FICUS_PLANS_DIR", str(CHECKOUT / "migration_plans" / "plans")),
            "Directory of Ficus plan files (*.yaml) that declare the routes and their upstreams. "
            "Defaults to $FICUS_PLANS_DIR or the checkout's migration_plans/plans.",
        )
        loader.add_option(
            "ficus_legacy_db",
            str,
            os.environ.get(
                "LEGACY_DATABASE_URL", f"sqlite:///{CHECKOUT / 'var' / 'legacy.sqlite3'}"
            ),
            "SQLAlchemy URL of the legacy database, read for USER_SESSION when a request goes to "
            "an extracted service (unless the plans' legacy_session resolves by whoami). "
            "Defaults to $LEGACY_DATABASE_URL.",
        )
        loader.add_option(
            "ficus_control_db",
            str,
            control_db_url(),
            "SQLAlchemy URL of the control-plane database whose route states (phase, canary "
            "weight) the proxy follows, polled every 0.2 s, and where it writes route stats. "
            "Defaults to $FICUS_CONTROL_DB_URL, else $FICUS_DB_DEFAULT_URL; empty: plan-file "
            "phases only.",
        )
        loader.add_option(
            "ficus_control_url",
            str,
            os.environ.get("FICUS_CONTROL_URL", ""),
            "URL(s) of the control-plane process (http://host:port[,http://host:port]) that "
            "serves /control/v1/ through the proxy. Defaults to $FICUS_CONTROL_URL; empty: "
            "/control/v1 is not routed (it falls through to legacy).",
        )
        loader.add_option(
            "ficus_access_log",
            str,
            STDERR,
            "Where to append the JSON-lines access log (one line per request): a file path, "
            "or '-' for stderr.",
        )
        loader.add_option(
            "ficus_identity_key",
            str,
            "",
            "HMAC key that signs X-Ficus-Identity for the extracted services (at least 32 bytes). "
            "Empty means $FICUS_IDENTITY_KEY, which is better: options show in process lists.",
        )
        # mitmproxy's own error answers (a head it cannot parse, a body over the limit) become
        # the proxy's, in the client's format.
        error_pages.install()

    def configure(self, updated: set[str]) -> None:
        if not self._configured:
            updated = updated | _OPTIONS
        runtime = self.runtime
        if "ficus_plans" in updated:
            try:
                runtime.plans.load(Path(ctx.options.ficus_plans))
            except ValueError as e:
                raise options_error(f"ficus_plans: {e}") from e
            runtime.identities.use(runtime.plans.legacy_session)
        if "ficus_control_url" in updated:
            urls = tuple(u.strip() for u in ctx.options.ficus_control_url.split(",") if u.strip())
            try:
                runtime.plans.set_control(urls)
            except ValueError as e:
                raise options_error(f"ficus_control_url: {e}") from e
        if "ficus_control_db" in updated:
            self._open_control_plane(ctx.options.ficus_control_db)
        if "ficus_legacy_db" in updated:
            try:
                runtime.identities.open(ctx.options.ficus_legacy_db)
            except ValueError as e:
                raise options_error(f"ficus_legacy_db: {e}") from e
        if "ficus_access_log" in updated:
            self._open_access_log(ctx.options.ficus_access_log)
        if "ficus_identity_key" in updated:
            raw = ctx.options.ficus_identity_key or os.environ.get("FICUS_IDENTITY_KEY", "")
            try:
                runtime.identities.set_key(raw)
            except ValueError as e:
                raise options_error(f"ficus_identity_key: {e}") from e
        if runtime.identities.key is None and runtime.plans.needs_identity_key():
            # Logged, not raised, for the reason given in running(); at start-up errorcheck
            # still turns this into exit status 1.
            logger.error(
                "routes are served by extracted services, but there is no identity key: set "
                "FICUS_IDENTITY_KEY (at least 32 bytes, shared with the services); until then "
                "those routes answer 503"
            )
        self._configured = True

    def running(self) -> None:
        # Checked once the proxy runs, and logged: errorcheck then stops a proxy that is
        # starting. Raising from configure() would not do: mitmproxy re-applies the previous
        # options after an OptionsError, and a cross-option complaint then hides the real one.
        if not ctx.options.keep_host_header:
            logger.error(
                "Ficus needs keep_host_header=true (runproxy sets it; with mitmdump add "
                "`--set keep_host_header=true`) to report the client's Host in X-Forwarded-Host"
            )
        if not ctx.options.mode or not all(m.startswith("reverse:") for m in ctx.options.mode):
            logger.error(
                "Ficus runs in reverse mode in front of the legacy app: "
                "--mode reverse:http://LEGACY_HOST:PORT"
            )

    def _open_control_plane(self, url: str) -> None:
        self._close_control_plane()
        if not url:
            return
        try:
            deidentifier = evidence_deidentifier(os.environ)  # first: nothing opened yet
        except ValueError as e:
            raise options_error(f"FICUS_EVIDENCE_KEY: {e}") from e
        try:
            engine = control_engine(url)
        except ValueError as e:
            raise options_error(f"ficus_control_db: {e}") from e
        self._control_engine = engine
        flusher = self.runtime.flusher = StatsFlusher(self.runtime.stats, engine)
        flusher.start()
        plans = self.runtime.plans
        recorder = EvidenceRecorder(
            engine,
            lambda: plans.compare_settings,
            deidentifier,
            metrics=self.runtime.metrics,
        )
        self.runtime.evidence = recorder
        recorder.start()
        control = self._control = ControlPlane(engine, self.runtime.plans.apply_states)
        if self.runtime.metrics is not None:
            self.runtime.metrics.generation_source = lambda: control.generation
        control.start()

    def _close_control_plane(self) -> None:
        if self._control is not None:
            self._control.stop()
            self._control = None
        if self.runtime.flusher is not None:
            self.runtime.flusher.stop()  # after one last flush
            self.runtime.flusher = None
        if self.runtime.evidence is not None:
            self.runtime.evidence.stop()  # after a last flush
            self.runtime.evidence = None
        if self._control_engine is not None:
            self._control_engine.dispose()
            self._control_engine = None

    def _open_access_log(self, target: str) -> None:
        try:
            access_log = AccessLog(target)
        except OSError as e:
            raise options_error(f"ficus_access_log: cannot open {target}: {e}") from e
        if self.runtime.access_log is not None:
            self.runtime.access_log.close()
        self.runtime.access_log = access_log

    def done(self) -> None:
        runtime = self.runtime
        if runtime.access_log is not None:
            runtime.access_log.close()
            runtime.access_log = None
        runtime.identities.close()
        self._close_control_plane()


def options_error(message: str) -> exceptions.OptionsError:
    return exceptions.OptionsError(message)  # type: ignore[no-untyped-call]  # not annotated
