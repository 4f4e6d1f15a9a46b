"""The systems, codes and extension URLs of our hospital birth-notification FHIR profile."""

from __future__ import annotations

from typing import Final

BASE: Final = "https://newborn-ledger.org/fhir"

# Identifier systems (NamingSystems of the profile).
USCC_SYSTEM: Final = f"{BASE}/sid/uscc"
CITIZEN_ID_SYSTEM: Final = f"{BASE}/sid/citizen-id"
BIRTH_CERTIFICATE_SYSTEM: Final = f"{BASE}/sid/birth-certificate"
DELIVERY_SYSTEM: Final = f"{BASE}/sid/delivery"

# Message events: our code system, and the US NVSS event URIs accepted as aliases.
EVENT_SYSTEM: Final = f"{BASE}/CodeSystem/message-event"
EVENT_NOTIFY: Final = "birth-notification"
EVENT_UPDATE: Final = "birth-notification-update"
EVENT_VOID: Final = "birth-notification-void"
NVSS_SUBMISSION: Final = "http://nchs.cdc.gov/birth_submission"
NVSS_UPDATE: Final = "http://nchs.cdc.gov/birth_submission_update"
NVSS_VOID: Final = "http://nchs.cdc.gov/birth_submission_void"

# Message kind ("notify" | "update" | "void") by our event code and by NVSS event URI.
KIND_BY_EVENT_CODE: Final = {EVENT_NOTIFY: "notify", EVENT_UPDATE: "update", EVENT_VOID: "void"}
KIND_BY_NVSS_URI: Final = {NVSS_SUBMISSION: "notify", NVSS_UPDATE: "update", NVSS_VOID: "void"}
EVENT_CODE_BY_KIND: Final = {kind: code for code, kind in KIND_BY_EVENT_CODE.items()}

# Extensions.
HOUSEHOLD_CHOICE_EXT: Final = f"{BASE}/StructureDefinition/household-choice"
DIVISION_CODE_EXT: Final = f"{BASE}/StructureDefinition/division-code"
ADDRESS_KIND_EXT: Final = f"{BASE}/StructureDefinition/address-kind"
BIRTH_TIME_EXT: Final = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
ADDRESS_KINDS: Final = ("hukou", "residence")

# Observations (LOINC).
LOINC_SYSTEM: Final = "http://loinc.org"
LOINC_BIRTH_WEIGHT: Final = "8339-4"
LOINC_GESTATIONAL_AGE: Final = "11884-4"
LOINC_APGAR_1: Final = "9272-6"
LOINC_APGAR_5: Final = "9274-2"

# Birth doses (CVX) and the names the domain records them under.
CVX_SYSTEM: Final = "http://hl7.org/fhir/sid/cvx"
CVX_HEPB: Final = "08"
CVX_BCG: Final = "19"
DOSE_BY_CVX: Final = {CVX_HEPB: "hepb-1", CVX_BCG: "bcg"}

# Identifier type of the hospital's record key, and the father's relationship.
V2_0203_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
RECORD_KEY_TYPE: Final = "MR"
ROLE_CODE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
FATHER_CODE: Final = "FTH"
# NFTH (natural father, what BFDR sends) is a specialisation of FTH in v3-RoleCode.
FATHER_CODES: Final = (FATHER_CODE, "NFTH")
