"""The synthetic clinic generator and the Synthea importer (`python -m backend.ehr.seed`)."""
