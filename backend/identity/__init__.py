"""Patient identity: which FHIR Patient a conversation is verified as, and the access checks
every internal route that touches patient data goes through (backend/identity/access.py)."""
