"""Server-rendered HTML as plain string templates.

Every value that reaches the page goes through `esc()` (html.escape with quotes), including
numbers, so no caller has to remember which values are safe. Links are relative paths only
(`/schedule?...`): the app never learns which host or port the browser used, because in the
demo a proxy sits in front of it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlencode

from demo.legacy import roles
from demo.legacy.auth import Session
from demo.legacy.legacy_time import display_date, display_time, display_ts

APP_TITLE = "Oakridge General Hospital"
APP_SUBTITLE = "Patient Access System 3.1"
STATUS_NAMES = {"B": "Booked", "A": "Arrived", "N": "No show", "C": "Cancelled"}
SEX_NAMES = {"F": "Female", "M": "Male", "U": "Unknown"}


def esc(value: object) -> str:
    """HTML-escape anything; None renders as nothing."""
    return "" if value is None else html.escape(str(value), quote=True)


def href(path: str, **query: object) -> str:
    """A relative link with an encoded query string, escaped for an attribute."""
    pairs = {key: str(value) for key, value in query.items() if value is not None}
    return esc(f"{path}?{urlencode(pairs)}" if pairs else path)


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def layout(title: str, body: str, user: Session | None = None) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(title)} - {esc(APP_TITLE)}</title>
<link rel="stylesheet" href="/static/legacy.css">
</head>
<body>
<div id="banner">
  <span class="brand">{esc(APP_TITLE)}</span> <span class="sub">{esc(APP_SUBTITLE)}</span>
  {_user_box(user)}
</div>
{_nav(user)}
<div id="content">
<h1>{esc(title)}</h1>
{body}
</div>
<div id="footer">Authorized use only. All access to patient information is logged.</div>
</body>
</html>
"""


def _user_box(user: Session | None) -> str:
    if user is None:
        return ""
    return f"""<form class="userbox" method="post" action="/logout">
    {esc(user.full_nm)} ({esc(roles.ROLE_NAMES.get(user.role_cd, user.role_cd))})
    <button type="submit">Log out</button>
  </form>"""


def _nav(user: Session | None) -> str:
    if user is None:
        return ""
    links = [("/", "Home")]
    if user.role_cd in roles.READ_CLINICAL:
        links += [("/patients", "Patient Search"), ("/schedule", "Appointment Book")]
    if user.role_cd in roles.BILLING:
        links.append(("/billing", "Billing Report"))
    items = " | ".join(f'<a href="{esc(path)}">{esc(label)}</a>' for path, label in links)
    return f'<div id="nav">{items}</div>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, css: str = "grid") -> str:
    """A table whose cells are already-escaped HTML fragments."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="empty">No records found.</td></tr>'
    return (
        f'<table class="{esc(css)}"><thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table>"
    )


def message(text: str, *, kind: str = "error") -> str:
    return f'<p class="msg {esc(kind)}">{esc(text)}</p>'


def login_page(error: str | None = None) -> str:
    body = f"""{message(error) if error else ""}
<form class="panel login" method="post" action="/login">
  <label>Login <input name="login" autocomplete="username" autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Log in</button>
</form>"""
    return layout("Log in", body)


def home_page(user: Session, today: str) -> str:
    items = []
    if user.role_cd in roles.READ_CLINICAL:
        items.append('<li><a href="/patients">Patient search</a></li>')
        if user.prov_id is not None:
            link = href("/schedule", prov=user.prov_id, date=today)
            items.append(f'<li><a href="{link}">My schedule today</a></li>')
        items.append(f'<li><a href="{href("/schedule", date=today)}">Appointment book</a></li>')
    if user.role_cd in roles.BILLING:
        items.append('<li><a href="/billing">Billing report</a></li>')
    if not items:
        note = "Your role has no access to clinical or billing functions in this system."
        return layout("Welcome", message(note, kind="info"), user)
    return layout("Welcome", f'<ul class="menu">{"".join(items)}</ul>', user)


def patient_search_page(
    user: Session, q: str, results: Sequence[Mapping[str, object]] | None, error: str | None
) -> str:
    form = f"""<form class="panel" method="get" action="/patients">
  <label>Last name, LAST,FIRST or MRN <input name="q" value="{esc(q)}" autofocus></label>
  <button type="submit">Search</button>
</form>"""
    parts = [form]
    if error:
        parts.append(message(error))
    if results is not None:
        rows = [
            [
                f'<a href="{href("/patients/" + str(p["PAT_ID"]))}">{esc(p["MRN"])}</a>',
                esc(f"{p['LAST_NM']}, {p['FIRST_NM']}"),
                esc(display_date(str(p["DOB"]))),
                esc(SEX_NAMES.get(str(p["SEX_CD"]), p["SEX_CD"])),
            ]
            for p in results
        ]
        parts.append(table(["MRN", "Name", "DOB", "Sex"], rows))
        if len(results) >= 50:
            parts.append(
                message("Only the first 50 matches are shown; refine the search.", kind="info")
            )
    return layout("Patient Search", "\n".join(parts), user)


def chart_page(
    user: Session, patient: Mapping[str, object], appts: Sequence[Mapping[str, object]]
) -> str:
    city = ", ".join(str(part) for part in (patient["CITY"], patient["ST"]) if part)
    demographics = [
        ("MRN", patient["MRN"]),
        ("Name", f"{patient['LAST_NM']}, {patient['FIRST_NM']}"),
        ("Date of birth", display_date(str(patient["DOB"]))),
        ("Sex", SEX_NAMES.get(str(patient["SEX_CD"]), patient["SEX_CD"])),
        ("SSN", patient["SSN"] or "not on file"),
        ("Phone", patient["PHONE"] or "not on file"),
        ("Address", patient["ADDR1"]),
        ("City", f"{city} {patient['ZIP'] or ''}".strip()),
        ("Last updated", display_ts(str(patient["UPD_TS"]))),
    ]
    facts = "\n".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in demographics)
    rows = [
        [
            f'<a href="{href("/schedule", prov=a["PROV_ID"], date=a["APPT_DT"])}">'
            f"{esc(display_date(str(a['APPT_DT'])))}</a>",
            esc(display_time(str(a["APPT_TM"]))),
            esc(a["DUR_MIN"]),
            esc(a["PROV_NM"]),
            esc(STATUS_NAMES.get(str(a["STATUS_CD"]), a["STATUS_CD"])),
            esc(a["REASON_TXT"]),
        ]
        for a in appts
    ]
    body = f"""<table class="facts">{facts}</table>
<h2>Appointments</h2>
{table(["Date", "Time", "Min", "Provider", "Status", "Reason"], rows)}"""
    title = f"Patient Chart: {patient['LAST_NM']}, {patient['FIRST_NM']}"
    return layout(title, body, user)


def schedule_page(
    user: Session,
    providers: Sequence[Mapping[str, object]],
    prov_id: int,
    day: str,
    prev_day: str,
    next_day: str,
    today: str,
    error: str | None,
) -> str:
    options = "".join(
        f'<option value="{esc(p["PROV_ID"])}"{" selected" if p["PROV_ID"] == prov_id else ""}>'
        f"{esc(p['NAME'])} ({esc(p['DEPT_CD'])})</option>"
        for p in providers
    )
    provider_name = next((str(p["NAME"]) for p in providers if p["PROV_ID"] == prov_id), "")
    can_book = "1" if user.role_cd in roles.BOOK else "0"
    book_form = _booking_form(day) if can_book == "1" else ""
    body = f"""{message(error) if error else ""}
<form class="panel picker" method="get" action="/schedule">
  <label>Provider <select name="prov">{options}</select></label>
  <label>Date <input name="date" value="{esc(day)}" size="9" maxlength="8"></label>
  <button type="submit">Show</button>
  <a href="{href("/schedule", prov=prov_id, date=prev_day)}">&laquo; Previous day</a> |
  <a href="{href("/schedule", prov=prov_id, date=today)}">Today</a> |
  <a href="{href("/schedule", prov=prov_id, date=next_day)}">Next day &raquo;</a>
</form>
<h2>{esc(provider_name)} &mdash; {esc(display_date(day))}</h2>
<div id="apptbook" data-prov="{esc(prov_id)}" data-date="{esc(day)}" data-can-book="{can_book}">
  <div class="daycol">
    <table class="grid day"><thead><tr>
      <th>Time</th><th>Patient</th><th>Min</th><th>Status</th><th>Reason</th>
    </tr></thead>
    <tbody id="day-rows"><tr><td colspan="5" class="empty">Loading&hellip;</td></tr></tbody></table>
  </div>
  <div class="sidecol">
    <div id="detail" class="panel"><em>Click an appointment to see its details.</em></div>
    {book_form}
    <p id="msg" class="msg" role="status"></p>
  </div>
</div>
<noscript><p class="msg error">The appointment book needs JavaScript.</p></noscript>
<script src="/static/schedule.js"></script>"""
    return layout("Appointment Book", body, user)


def _booking_form(day: str) -> str:
    durations = "".join(
        f'<option value="{m}"{" selected" if m == 15 else ""}>{m} min</option>'
        for m in (15, 30, 45, 60, 90)
    )
    return f"""<form id="book-form" class="panel">
      <h3>Book / Reschedule</h3>
      <label>Find patient <input id="pat-q" placeholder="LAST,FIRST or MRN" size="18"></label>
      <button type="button" id="pat-find">Find</button>
      <ul id="pat-results"></ul>
      <label>Patient ID <input id="f-pat" name="PAT_ID" size="8"></label>
      <label>Date
        <input id="f-date" name="APPT_DT" value="{esc(day)}" size="9" maxlength="8"></label>
      <label>Time (HHMM) <input id="f-time" name="APPT_TM" size="5" maxlength="4"></label>
      <label>Duration <select id="f-dur" name="DUR_MIN">{durations}</select></label>
      <label>Reason <input id="f-reason" name="REASON_TXT" size="24" maxlength="80"></label>
      <div class="buttons">
        <button type="button" id="do-book">Book new</button>
        <button type="button" id="do-move" disabled>Reschedule selected</button>
        <button type="button" id="do-cancel" disabled>Cancel selected</button>
      </div>
    </form>"""


def billing_page(
    user: Session,
    from_dt: str,
    to_dt: str,
    lines: Sequence[Mapping[str, object]],
    totals: Mapping[str, int],
    truncated: bool,
    error: str | None,
) -> str:
    form = f"""<form class="panel" method="get" action="/billing">
  <label>From <input name="from" value="{esc(from_dt)}" size="9" maxlength="8"></label>
  <label>To <input name="to" value="{esc(to_dt)}" size="9" maxlength="8"></label>
  <button type="submit">Run report</button> <span class="hint">(dates as YYYYMMDD)</span>
</form>"""
    if error:
        return layout("Billing Report", form + message(error), user)
    rows = [
        [
            esc(display_date(str(line["APPT_DT"]))),
            esc(display_time(str(line["APPT_TM"]))),
            esc(line["APPT_ID"]),
            esc(line["MRN"]),
            esc(f"{line['LAST_NM']}, {line['FIRST_NM']}"),
            esc(line["PROV_NM"]),
            esc(STATUS_NAMES.get(str(line["STATUS_CD"]), line["STATUS_CD"])),
            esc(line["CPT_CD"] or "-"),
            esc(display_date(str(line["POSTED_DT"])) if line["POSTED_DT"] else "-"),
            f'<span class="num">{esc(money(int(str(line["AMT_CENTS"]))))}</span>',
        ]
        for line in lines
    ]
    headers = [
        "Date",
        "Time",
        "Appt #",
        "MRN",
        "Patient",
        "Provider",
        "Status",
        "CPT",
        "Posted",
        "Amount",
    ]
    summary = f"""<table class="facts totals">
<tr><th>Appointments</th><td id="total-appts">{esc(totals["appointments"])}</td></tr>
<tr><th>Report lines</th><td id="total-lines">{esc(totals["lines"])}</td></tr>
<tr><th>Charges</th><td id="total-charges">{esc(totals["charges"])}</td></tr>
<tr><th>Total billed</th><td id="total-amount">{esc(money(totals["cents"]))}</td></tr>
</table>"""
    note = (
        message("Showing the first lines only; totals cover the whole range.", kind="info")
        if truncated
        else ""
    )
    return layout("Billing Report", f"{form}\n{summary}\n{note}\n{table(headers, rows)}", user)


def error_page(status: int, text: str, user: Session | None = None) -> str:
    body = f'{message(text)}<p><a href="/">Return to the main menu</a></p>'
    return layout(f"Error {status}", body, user)
