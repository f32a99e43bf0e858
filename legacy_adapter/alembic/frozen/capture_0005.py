"""The capture triggers as revision 0005 installed them, frozen: NEVER edit this file.

Revision 0005 (2026-12-02): fan-out rows are `F` refreshes with no origin.
Generated on 2026-12-06 from legacy_adapter/capture.py as it stood, byte for byte, so that an
applied revision keeps meaning what it did when it ran, whatever capture.py says today.
Keyed by dialect (`mariadb` runs the `mysql` statements).
"""

from __future__ import annotations

TABLES = ("APPT_SCHED", "PATIENT_MASTER")  # the captured tables of that day

INSTALL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        (
            "CREATE TRIGGER ficus_appt_sched_ai AFTER INSERT ON APPT_SCHED FOR EACH ROW"
            " BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) SELECT"
            " 'APPT_SCHED', NEW.APPT_ID, 'I', (SELECT marker FROM ficus_origin LIMIT 1),"
            " CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER); END"
        ),
        (
            "CREATE TRIGGER ficus_appt_sched_au AFTER UPDATE ON APPT_SCHED FOR EACH ROW"
            " BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) SELECT"
            " 'APPT_SCHED', OLD.APPT_ID, 'D', (SELECT marker FROM ficus_origin LIMIT 1),"
            " CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER) WHERE"
            " OLD.APPT_ID <> NEW.APPT_ID; INSERT INTO ficus_change (tbl, pk, op, origin,"
            " created_at_us) SELECT 'APPT_SCHED', NEW.APPT_ID, 'U', (SELECT marker FROM"
            " ficus_origin LIMIT 1), CAST((julianday('now') - 2440587.5) * 86400000000.0 AS"
            " INTEGER); END"
        ),
        (
            "CREATE TRIGGER ficus_appt_sched_ad AFTER DELETE ON APPT_SCHED FOR EACH ROW"
            " BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) SELECT"
            " 'APPT_SCHED', OLD.APPT_ID, 'D', (SELECT marker FROM ficus_origin LIMIT 1),"
            " CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER); END"
        ),
        (
            "CREATE TRIGGER ficus_patient_master_ai AFTER INSERT ON PATIENT_MASTER FOR EACH"
            " ROW BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us)"
            " SELECT 'PATIENT_MASTER', NEW.PAT_ID, 'I', (SELECT marker FROM ficus_origin"
            " LIMIT 1), CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER);"
            " INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) SELECT"
            " 'APPT_SCHED', APPT_ID, 'F', NULL, CAST((julianday('now') - 2440587.5) *"
            " 86400000000.0 AS INTEGER) FROM APPT_SCHED WHERE PAT_ID = NEW.PAT_ID; END"
        ),
        (
            "CREATE TRIGGER ficus_patient_master_au AFTER UPDATE ON PATIENT_MASTER FOR EACH"
            " ROW BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us)"
            " SELECT 'PATIENT_MASTER', OLD.PAT_ID, 'D', (SELECT marker FROM ficus_origin"
            " LIMIT 1), CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
            " WHERE OLD.PAT_ID <> NEW.PAT_ID; INSERT INTO ficus_change (tbl, pk, op,"
            " origin, created_at_us) SELECT 'PATIENT_MASTER', NEW.PAT_ID, 'U', (SELECT"
            " marker FROM ficus_origin LIMIT 1), CAST((julianday('now') - 2440587.5) *"
            " 86400000000.0 AS INTEGER); INSERT INTO ficus_change (tbl, pk, op, origin,"
            " created_at_us) SELECT 'APPT_SCHED', APPT_ID, 'F', NULL,"
            " CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER) FROM"
            " APPT_SCHED WHERE PAT_ID = OLD.PAT_ID AND OLD.PAT_ID <> NEW.PAT_ID; INSERT"
            " INTO ficus_change (tbl, pk, op, origin, created_at_us) SELECT 'APPT_SCHED',"
            " APPT_ID, 'F', NULL, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS"
            " INTEGER) FROM APPT_SCHED WHERE PAT_ID = NEW.PAT_ID AND (OLD.LAST_NM IS NOT"
            " NEW.LAST_NM OR OLD.FIRST_NM IS NOT NEW.FIRST_NM OR OLD.PAT_ID <> NEW.PAT_ID);"
            " END"
        ),
        (
            "CREATE TRIGGER ficus_patient_master_ad AFTER DELETE ON PATIENT_MASTER FOR EACH"
            " ROW BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us)"
            " SELECT 'PATIENT_MASTER', OLD.PAT_ID, 'D', (SELECT marker FROM ficus_origin"
            " LIMIT 1), CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER);"
            " INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) SELECT"
            " 'APPT_SCHED', APPT_ID, 'F', NULL, CAST((julianday('now') - 2440587.5) *"
            " 86400000000.0 AS INTEGER) FROM APPT_SCHED WHERE PAT_ID = OLD.PAT_ID; END"
        ),
    ),
    "postgresql": (
        (
            "CREATE OR REPLACE FUNCTION ficus_capture_appt_sched() RETURNS trigger LANGUAGE"
            " plpgsql AS $ficus$\nDECLARE\n  v_origin text :="
            " NULLIF(current_setting('ficus.origin', true), '');\n  v_now bigint :="
            " (extract(epoch from clock_timestamp()) * 1000000)::bigint;\nBEGIN\n  IF TG_OP ="
            " 'DELETE' THEN\n    INSERT INTO ficus_change (tbl, pk, op, origin, txid,"
            " created_at_us) VALUES ('APPT_SCHED', OLD.APPT_ID, 'D', v_origin,"
            " txid_current(), v_now); \n    RETURN OLD;\n  END IF;\n  IF TG_OP = 'UPDATE'"
            " THEN\n    IF OLD.APPT_ID <> NEW.APPT_ID THEN INSERT INTO ficus_change (tbl,"
            " pk, op, origin, txid, created_at_us) VALUES ('APPT_SCHED', OLD.APPT_ID, 'D',"
            " v_origin, txid_current(), v_now); END IF;\n    INSERT INTO ficus_change (tbl,"
            " pk, op, origin, txid, created_at_us) VALUES ('APPT_SCHED', NEW.APPT_ID, 'U',"
            " v_origin, txid_current(), v_now); \n    RETURN NEW;\n  END IF;\n  INSERT INTO"
            " ficus_change (tbl, pk, op, origin, txid, created_at_us) VALUES ('APPT_SCHED',"
            " NEW.APPT_ID, 'I', v_origin, txid_current(), v_now); \n  RETURN NEW;\nEND$ficus$"
        ),
        (
            "CREATE TRIGGER ficus_appt_sched_capture AFTER INSERT OR UPDATE OR DELETE ON"
            " APPT_SCHED FOR EACH ROW EXECUTE FUNCTION ficus_capture_appt_sched()"
        ),
        (
            "CREATE OR REPLACE FUNCTION ficus_capture_patient_master() RETURNS trigger"
            " LANGUAGE plpgsql AS $ficus$\nDECLARE\n  v_origin text :="
            " NULLIF(current_setting('ficus.origin', true), '');\n  v_now bigint :="
            " (extract(epoch from clock_timestamp()) * 1000000)::bigint;\nBEGIN\n  IF TG_OP ="
            " 'DELETE' THEN\n    INSERT INTO ficus_change (tbl, pk, op, origin, txid,"
            " created_at_us) VALUES ('PATIENT_MASTER', OLD.PAT_ID, 'D', v_origin,"
            " txid_current(), v_now); INSERT INTO ficus_change (tbl, pk, op, origin, txid,"
            " created_at_us) SELECT 'APPT_SCHED', APPT_ID, 'F', NULL, txid_current(), v_now"
            " FROM APPT_SCHED WHERE PAT_ID = OLD.PAT_ID;\n    RETURN OLD;\n  END IF;\n  IF"
            " TG_OP = 'UPDATE' THEN\n    IF OLD.PAT_ID <> NEW.PAT_ID THEN INSERT INTO"
            " ficus_change (tbl, pk, op, origin, txid, created_at_us) VALUES"
            " ('PATIENT_MASTER', OLD.PAT_ID, 'D', v_origin, txid_current(), v_now); END"
            " IF;\n    INSERT INTO ficus_change (tbl, pk, op, origin, txid, created_at_us)"
            " VALUES ('PATIENT_MASTER', NEW.PAT_ID, 'U', v_origin, txid_current(), v_now);"
            " IF OLD.LAST_NM IS DISTINCT FROM NEW.LAST_NM OR OLD.FIRST_NM IS DISTINCT FROM"
            " NEW.FIRST_NM OR OLD.PAT_ID <> NEW.PAT_ID THEN INSERT INTO ficus_change (tbl,"
            " pk, op, origin, txid, created_at_us) SELECT 'APPT_SCHED', APPT_ID, 'F', NULL,"
            " txid_current(), v_now FROM APPT_SCHED WHERE PAT_ID = NEW.PAT_ID; END IF; IF"
            " OLD.PAT_ID <> NEW.PAT_ID THEN INSERT INTO ficus_change (tbl, pk, op, origin,"
            " txid, created_at_us) SELECT 'APPT_SCHED', APPT_ID, 'F', NULL, txid_current(),"
            " v_now FROM APPT_SCHED WHERE PAT_ID = OLD.PAT_ID; END IF;\n    RETURN NEW;\n "
            " END IF;\n  INSERT INTO ficus_change (tbl, pk, op, origin, txid, created_at_us)"
            " VALUES ('PATIENT_MASTER', NEW.PAT_ID, 'I', v_origin, txid_current(), v_now);"
            " INSERT INTO ficus_change (tbl, pk, op, origin, txid, created_at_us) SELECT"
            " 'APPT_SCHED', APPT_ID, 'F', NULL, txid_current(), v_now FROM APPT_SCHED WHERE"
            " PAT_ID = NEW.PAT_ID;\n  RETURN NEW;\nEND$ficus$"
        ),
        (
            "CREATE TRIGGER ficus_patient_master_capture AFTER INSERT OR UPDATE OR DELETE"
            " ON PATIENT_MASTER FOR EACH ROW EXECUTE FUNCTION"
            " ficus_capture_patient_master()"
        ),
    ),
    "mysql": (
        (
            "CREATE TRIGGER ficus_appt_sched_ai AFTER INSERT ON APPT_SCHED FOR EACH ROW"
            " BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) VALUES"
            " ('APPT_SCHED', NEW.APPT_ID, 'I', @ficus_origin, CAST(UNIX_TIMESTAMP(NOW(6)) *"
            " 1000000 AS SIGNED));  END"
        ),
        (
            "CREATE TRIGGER ficus_appt_sched_au AFTER UPDATE ON APPT_SCHED FOR EACH ROW"
            " BEGIN IF OLD.APPT_ID <> NEW.APPT_ID THEN INSERT INTO ficus_change (tbl, pk,"
            " op, origin, created_at_us) VALUES ('APPT_SCHED', OLD.APPT_ID, 'D',"
            " @ficus_origin, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)); END IF;"
            " INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) VALUES"
            " ('APPT_SCHED', NEW.APPT_ID, 'U', @ficus_origin, CAST(UNIX_TIMESTAMP(NOW(6)) *"
            " 1000000 AS SIGNED));  END"
        ),
        (
            "CREATE TRIGGER ficus_appt_sched_ad AFTER DELETE ON APPT_SCHED FOR EACH ROW"
            " BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) VALUES"
            " ('APPT_SCHED', OLD.APPT_ID, 'D', @ficus_origin, CAST(UNIX_TIMESTAMP(NOW(6)) *"
            " 1000000 AS SIGNED));  END"
        ),
        (
            "CREATE TRIGGER ficus_patient_master_ai AFTER INSERT ON PATIENT_MASTER FOR EACH"
            " ROW BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us)"
            " VALUES ('PATIENT_MASTER', NEW.PAT_ID, 'I', @ficus_origin,"
            " CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)); INSERT INTO ficus_change"
            " (tbl, pk, op, origin, created_at_us) SELECT 'APPT_SCHED', APPT_ID, 'F', NULL,"
            " CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) FROM APPT_SCHED WHERE PAT_ID"
            " = NEW.PAT_ID; END"
        ),
        (
            "CREATE TRIGGER ficus_patient_master_au AFTER UPDATE ON PATIENT_MASTER FOR EACH"
            " ROW BEGIN IF OLD.PAT_ID <> NEW.PAT_ID THEN INSERT INTO ficus_change (tbl, pk,"
            " op, origin, created_at_us) VALUES ('PATIENT_MASTER', OLD.PAT_ID, 'D',"
            " @ficus_origin, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)); END IF;"
            " INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us) VALUES"
            " ('PATIENT_MASTER', NEW.PAT_ID, 'U', @ficus_origin,"
            " CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)); IF NOT (OLD.LAST_NM <=>"
            " NEW.LAST_NM) OR NOT (OLD.FIRST_NM <=> NEW.FIRST_NM) OR OLD.PAT_ID <>"
            " NEW.PAT_ID THEN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us)"
            " SELECT 'APPT_SCHED', APPT_ID, 'F', NULL, CAST(UNIX_TIMESTAMP(NOW(6)) *"
            " 1000000 AS SIGNED) FROM APPT_SCHED WHERE PAT_ID = NEW.PAT_ID; END IF; IF"
            " OLD.PAT_ID <> NEW.PAT_ID THEN INSERT INTO ficus_change (tbl, pk, op, origin,"
            " created_at_us) SELECT 'APPT_SCHED', APPT_ID, 'F', NULL,"
            " CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) FROM APPT_SCHED WHERE PAT_ID"
            " = OLD.PAT_ID; END IF; END"
        ),
        (
            "CREATE TRIGGER ficus_patient_master_ad AFTER DELETE ON PATIENT_MASTER FOR EACH"
            " ROW BEGIN INSERT INTO ficus_change (tbl, pk, op, origin, created_at_us)"
            " VALUES ('PATIENT_MASTER', OLD.PAT_ID, 'D', @ficus_origin,"
            " CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)); INSERT INTO ficus_change"
            " (tbl, pk, op, origin, created_at_us) SELECT 'APPT_SCHED', APPT_ID, 'F', NULL,"
            " CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) FROM APPT_SCHED WHERE PAT_ID"
            " = OLD.PAT_ID; END"
        ),
    ),
}

DROP: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS ficus_appt_sched_ai",
        "DROP TRIGGER IF EXISTS ficus_appt_sched_au",
        "DROP TRIGGER IF EXISTS ficus_appt_sched_ad",
        "DROP TRIGGER IF EXISTS ficus_patient_master_ai",
        "DROP TRIGGER IF EXISTS ficus_patient_master_au",
        "DROP TRIGGER IF EXISTS ficus_patient_master_ad",
    ),
    "postgresql": (
        "DROP TRIGGER IF EXISTS ficus_appt_sched_capture ON APPT_SCHED",
        "DROP FUNCTION IF EXISTS ficus_capture_appt_sched()",
        "DROP TRIGGER IF EXISTS ficus_patient_master_capture ON PATIENT_MASTER",
        "DROP FUNCTION IF EXISTS ficus_capture_patient_master()",
    ),
    "mysql": (
        "DROP TRIGGER IF EXISTS ficus_appt_sched_ai",
        "DROP TRIGGER IF EXISTS ficus_appt_sched_au",
        "DROP TRIGGER IF EXISTS ficus_appt_sched_ad",
        "DROP TRIGGER IF EXISTS ficus_patient_master_ai",
        "DROP TRIGGER IF EXISTS ficus_patient_master_au",
        "DROP TRIGGER IF EXISTS ficus_patient_master_ad",
    ),
}
