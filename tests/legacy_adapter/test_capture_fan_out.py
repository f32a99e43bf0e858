"""Which derived copies a captured table's change refreshes: read off the features' lookups
(`SourceSpec.joins`), never listed by hand beside them."""

from __future__ import annotations

from dataclasses import replace

from domain.records.source_spec import OuterJoin
from legacy_adapter.capture import CapturedTable, captured_tables, fan_outs
from legacy_adapter.feature_sources import source_spec, source_specs


def test_an_appointment_showing_its_patients_name_makes_a_rename_refresh_it():
    assert fan_outs(source_specs()) == {
        "PATIENT_MASTER": ((("APPT_SCHED", "APPT_ID", "PAT_ID"),), ("LAST_NM", "FIRST_NM"))
    }


def test_the_shipped_capture_refreshes_appointments_on_a_patient_rename():
    patients, appointments = captured_tables(["PATIENT_MASTER", "APPT_SCHED"])
    assert patients == CapturedTable(
        "PATIENT_MASTER",
        "PAT_ID",
        (("APPT_SCHED", "APPT_ID", "PAT_ID"),),
        ("LAST_NM", "FIRST_NM"),
    )
    assert appointments == CapturedTable("APPT_SCHED", "APPT_ID")


def test_a_feature_without_lookups_fans_out_nothing():
    patients_only = [source_spec("patients", zone_name="UTC")]
    assert fan_outs(patients_only) == {}
    assert captured_tables(["PATIENT_MASTER", "APPT_SCHED"], patients_only)[0].fan_out == ()


def test_a_new_lookup_adds_its_fan_out_without_another_list():
    appointments = source_spec("appointments", zone_name="UTC")
    # A throwaway feature over APPT_SCHED that also shows its provider's name.
    with_provider = replace(
        appointments,
        feature="rota",
        joins=(OuterJoin("PROVIDER", on="PROV_ID", columns=("PROV_NM",)),),
    )
    fan_out = fan_outs([appointments, with_provider])
    assert fan_out["PROVIDER"] == ((("APPT_SCHED", "APPT_ID", "PROV_ID"),), ("PROV_NM",))
    # Two lookups of one table by two features watch the union of their columns, once each.
    again = replace(appointments, feature="again")
    assert fan_outs([appointments, again])["PATIENT_MASTER"] == fan_out["PATIENT_MASTER"]


def test_a_dependent_table_nobody_captures_gets_no_fan_out():
    (patients,) = captured_tables(["PATIENT_MASTER"])
    assert patients.fan_out == ()
    assert patients.fan_out_columns == ()
