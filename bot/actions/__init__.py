"""Custom actions: thin dialogue glue.

Actions never touch a database or the EHR. Everything they need comes from the backend's
internal API through `backend_client.BackendClient`, authenticated with the service token.
`rasa run actions --actions bot.actions` imports every module of this package.
"""
