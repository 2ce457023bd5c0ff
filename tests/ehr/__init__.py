"""Tests of the EHR port, the seed and the FHIR servers."""
