"""The clinician front end: login, home, patient search, chart, appointment book, billing report.

Pages read straight from the database and render HTML; the appointment book is the exception, it
draws itself in the browser from the JSON API (static/schedule.js), which is exactly the seam
Ficus strangles first. A page without a session redirects to `/login`; a role without access
gets a 403 page (the dispatcher handles both).
"""

from __future__ import annotations

from datetime import date, timedelta

from demo.legacy import appointments, auth, billing, patients, providers, roles, templates
from demo.legacy.http import Response, expired_cookie, html_response, redirect, session_cookie
from demo.legacy.legacy_time import parse_legacy_date, to_legacy_date
from demo.legacy.routes import Ctx, Route
from demo.legacy.validation import MAX_ID

BILLING_DEFAULT_DAYS = 7


def login_form(ctx: Ctx) -> Response:
    return html_response(templates.login_page())


def login_submit(ctx: Ctx) -> Response:
    form = ctx.request.form()
    sess_id = auth.login(ctx.engine, form.get("login", ""), form.get("password", ""), ctx.now)
    if sess_id is None:
        # 200, not 401: the legacy app simply shows the form again.
        return html_response(templates.login_page("INVALID LOGIN"))
    return redirect("/", [("Set-Cookie", session_cookie(auth.COOKIE_NAME, sess_id))])


def logout(ctx: Ctx) -> Response:
    auth.logout(ctx.engine, ctx.request.cookies.get(auth.COOKIE_NAME))
    return redirect("/login", [("Set-Cookie", expired_cookie(auth.COOKIE_NAME))])


def home(ctx: Ctx) -> Response:
    return html_response(templates.home_page(ctx.user, to_legacy_date(ctx.now.date())))


def patient_search(ctx: Ctx) -> Response:
    q = ctx.request.query.get("q", "")
    if "q" not in ctx.request.query:
        return html_response(templates.patient_search_page(ctx.user, "", None, None))
    with ctx.engine.connect() as conn:
        try:
            results = patients.search(conn, q)
        except patients.SearchTooShortError:
            return html_response(
                templates.patient_search_page(ctx.user, q, None, "SEARCH TOO SHORT")
            )
    return html_response(templates.patient_search_page(ctx.user, q, results, None))


def patient_chart(ctx: Ctx) -> Response:
    pat_id = ctx.params["id"]
    with ctx.engine.connect() as conn:
        patient = patients.get(conn, pat_id) if pat_id <= MAX_ID else None
        appts = appointments.list_for_patient(conn, pat_id) if patient else []
    if patient is None:
        return html_response(templates.error_page(404, "PATIENT NOT FOUND", ctx.user), 404)
    return html_response(templates.chart_page(ctx.user, patient, appts))


def schedule(ctx: Ctx) -> Response:
    query, user = ctx.request.query, ctx.user
    today = ctx.now.date()
    errors: list[str] = []
    day = parse_legacy_date(query.get("date", "").strip()) if query.get("date") else today
    if day is None:
        errors.append("INVALID DATE")
        day = today
    with ctx.engine.connect() as conn:
        provider_list = providers.list_providers(conn)
        known = {int(p["PROV_ID"]) for p in provider_list}
        prov_id = _chosen_provider(query.get("prov", ""), user, known, errors)
    if prov_id is None:
        return html_response(templates.error_page(404, "NO PROVIDERS ON FILE", user), 404)
    html = templates.schedule_page(
        user,
        provider_list,
        prov_id,
        to_legacy_date(day),
        prev_day=to_legacy_date(day - timedelta(days=1)),
        next_day=to_legacy_date(day + timedelta(days=1)),
        today=to_legacy_date(today),
        error=" / ".join(errors) or None,
    )
    return html_response(html)


def _chosen_provider(
    raw: str, user: auth.Session, known: set[int], errors: list[str]
) -> int | None:
    """`prov` from the query, else the clinician's own provider, else the first on file."""
    raw = raw.strip()
    if raw:
        if raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) in known:
            return int(raw)
        errors.append("UNKNOWN PROVIDER")
    if user.prov_id is not None and user.prov_id in known:
        return user.prov_id
    return min(known) if known else None


def billing_report(ctx: Ctx) -> Response:
    query = ctx.request.query
    today = ctx.now.date()
    default_from = today - timedelta(days=BILLING_DEFAULT_DAYS - 1)
    from_raw = query.get("from", "").strip() or to_legacy_date(default_from)
    to_raw = query.get("to", "").strip() or to_legacy_date(today)
    from_day, to_day = parse_legacy_date(from_raw), parse_legacy_date(to_raw)
    error = _range_error(from_day, to_day)
    if error:
        html = templates.billing_page(ctx.user, from_raw, to_raw, [], {}, False, error)
        return html_response(html)
    with ctx.engine.connect() as conn:
        result = billing.report(conn, from_raw, to_raw)
    totals = {
        "appointments": result.appointments,
        "lines": result.line_count,
        "charges": result.charge_count,
        "cents": result.total_cents,
    }
    html = templates.billing_page(
        ctx.user, from_raw, to_raw, result.lines, totals, result.truncated, None
    )
    return html_response(html)


def _range_error(from_day: date | None, to_day: date | None) -> str | None:
    if from_day is None or to_day is None:
        return "INVALID DATE"
    if from_day > to_day:
        return "FROM DATE IS AFTER TO DATE"
    return None


ROUTES = [
    Route("GET", "/login", login_form, None),
    Route("POST", "/login", login_submit, None),
    Route("POST", "/logout", logout, None),
    Route("GET", "/", home, roles.ANY_USER),
    Route("GET", "/patients", patient_search, roles.READ_CLINICAL),
    Route("GET", "/patients/{id}", patient_chart, roles.READ_CLINICAL),
    Route("GET", "/schedule", schedule, roles.READ_CLINICAL),
    Route("GET", "/billing", billing_report, roles.BILLING),
]
