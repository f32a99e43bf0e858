"""Logging in and out: the SESSID cookie, the USER_SESSION row, and its 8-hour lifetime."""

from __future__ import annotations

from demo.legacy.db import execute, fetch_all, write_transaction
from tests.demo.legacy.client import Client
from tests.demo.legacy.conftest import query_one


def sessions(engine):
    with engine.connect() as conn:
        return fetch_all(conn, "SELECT * FROM USER_SESSION")


def test_it_shows_the_login_form_to_anyone(outsider):
    response = outsider.get("/login")
    assert response.status == 200
    assert '<form class="panel login" method="post" action="/login">' in response.text
    assert 'name="password" type="password"' in response.text


def test_it_logs_in_with_a_session_cookie_and_redirects_home(outsider, engine):
    response = outsider.login("clinician")
    assert response.status == 302
    assert response.header("Location") == "/"
    cookie = response.header("Set-Cookie")
    assert cookie is not None
    name_value, *attributes = cookie.split("; ")
    assert name_value.startswith("SESSID=")
    assert attributes == ["HttpOnly", "SameSite=Lax", "Path=/"]
    [row] = sessions(engine)
    assert row["SESS_ID"] == outsider.cookies["SESSID"]
    assert len(row["SESS_ID"]) == 64
    assert (row["USER_ID"], row["ROLE_CD"]) == (1, "CLIN")
    assert row["EXPIRES_TS"] == "20261120180000"  # login at 10:00 UTC plus 8 hours


def test_it_accepts_the_login_name_in_any_case(outsider):
    assert outsider.login("  Clinician ").status == 302


def test_a_wrong_password_shows_the_form_again_with_invalid_login(outsider, engine):
    response = outsider.login("clinician", "wrong")
    assert response.status == 200
    assert "INVALID LOGIN" in response.text
    assert response.header("Set-Cookie") is None
    assert sessions(engine) == []


def test_an_unknown_login_is_refused_the_same_way(outsider, engine):
    response = outsider.login("nobody", "demo")
    assert response.status == 200
    assert "INVALID LOGIN" in response.text
    assert sessions(engine) == []


def test_an_inactive_user_cannot_log_in(outsider, engine):
    with write_transaction(engine) as conn:
        execute(conn, "UPDATE APP_USER SET ACTIVE_FLG = 'N' WHERE LOGIN_NM = 'clinician'")
    assert "INVALID LOGIN" in outsider.login("clinician").text


def test_the_session_api_says_who_is_logged_in(clinician, engine):
    full_nm = query_one(engine, "SELECT FULL_NM FROM APP_USER WHERE USER_ID = 1")["FULL_NM"]
    response = clinician.get("/api/session")
    assert response.status == 200
    assert response.json() == {
        "USER_ID": 1,
        "LOGIN_NM": "clinician",
        "FULL_NM": full_nm,
        "ROLE_CD": "CLIN",
        "EXPIRES_TS": "20261120180000",
    }
    assert full_nm.endswith(" MD")
    assert list(response.json()) == ["USER_ID", "LOGIN_NM", "FULL_NM", "ROLE_CD", "EXPIRES_TS"]


def test_logout_deletes_the_session_row_and_clears_the_cookie(clinician, engine):
    sess_id = clinician.cookies["SESSID"]
    response = clinician.post("/logout")
    assert response.status == 302
    assert response.header("Location") == "/login"
    assert "Max-Age=0" in (response.header("Set-Cookie") or "")
    assert all(row["SESS_ID"] != sess_id for row in sessions(engine))
    replay = Client(clinician.app, {"SESSID": sess_id})
    assert replay.get("/api/session").json() == {"ERR": "NOT LOGGED IN", "CODE": 101}


def test_logout_is_a_post(clinician):
    response = clinician.get("/logout")
    assert response.status == 405
    assert response.header("Allow") == "POST"
    assert clinician.get("/api/session").status == 200


def test_a_session_expires_after_eight_hours(clinician, clock):
    clock.advance(hours=7, minutes=59, seconds=59)
    assert clinician.get("/api/session").status == 200
    clock.advance(seconds=1)
    response = clinician.get("/api/session")
    assert response.status == 401
    assert response.json() == {"ERR": "NOT LOGGED IN", "CODE": 101}
    page = clinician.get("/patients")
    assert page.status == 302
    assert page.header("Location") == "/login"


def test_a_later_login_sweeps_expired_sessions(app, engine, clock):
    Client(app).login("scheduler")
    clock.advance(hours=9)
    Client(app).login("billing")
    assert [row["ROLE_CD"] for row in sessions(engine)] == ["BILL"]


def test_deactivating_a_user_ends_their_sessions(clinician, engine):
    with write_transaction(engine) as conn:
        execute(conn, "UPDATE APP_USER SET ACTIVE_FLG = 'N' WHERE LOGIN_NM = 'clinician'")
    assert clinician.get("/api/session").status == 401


def test_the_outsider_without_a_cookie_or_with_a_forged_one_is_not_logged_in(app, outsider):
    assert outsider.get("/api/session").status == 401
    for forged in ("0" * 64, "x" * 500, "", "' OR 1=1 --"):
        client = Client(app, {"SESSID": forged})
        response = client.get("/api/session")
        assert response.status == 401
        assert response.json() == {"ERR": "NOT LOGGED IN", "CODE": 101}


def test_passwords_never_reach_the_logs(outsider, caplog):
    caplog.set_level("DEBUG")
    outsider.login("clinician", "s3cret-Passw0rd")
    outsider.login("clinician")
    assert "s3cret" not in caplog.text
    assert "POST /login 200" in caplog.text
    assert "POST /login 302" in caplog.text
