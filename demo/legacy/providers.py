"""The provider list, for the appointment book's picker and the reports."""

from __future__ import annotations

from sqlalchemy import Connection

from demo.legacy.db import Row, fetch_all, fetch_one


def list_providers(conn: Connection) -> list[Row]:
    return fetch_all(conn, "SELECT PROV_ID, NAME, DEPT_CD FROM PROVIDER ORDER BY NAME, PROV_ID")


def get(conn: Connection, prov_id: int) -> Row | None:
    return fetch_one(
        conn,
        "SELECT PROV_ID, NAME, DEPT_CD FROM PROVIDER WHERE PROV_ID = :prov_id",
        {"prov_id": prov_id},
    )


def first_provider_id(conn: Connection) -> int | None:
    row = fetch_one(conn, "SELECT MIN(PROV_ID) AS PROV_ID FROM PROVIDER")
    return None if row is None or row["PROV_ID"] is None else int(row["PROV_ID"])
