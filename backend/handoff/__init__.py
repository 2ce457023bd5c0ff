"""Hand-off to clinicians: the state machine, the queue, clinician accounts and sessions."""
