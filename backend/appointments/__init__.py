"""Appointments by conversation: date/time understanding, slot offers with alternatives,
booking, rescheduling and cancelling over the EHR port (`services.ehr`)."""
