"""The clinician console page (static HTML and JavaScript over /console/api)."""
