"""Lab results, medications and refill requests for a verified patient (issue 7).

The routes in backend/api/routes/internal_records.py decide *whose* data (identity) and audit
every read and write; this package decides *what* the patient is told: which results may be
shown, how each value is put in plain language, when a result is withheld as critical, which
refills need the prescriber's decision, and how duplicate refill requests are avoided.
"""
