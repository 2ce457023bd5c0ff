"""Custom actions: thin dialogue glue.

Actions never touch a database or the EHR. Everything they need comes from the backend's
internal API through `backend_client.BackendClient`, authenticated with the service token.
The action server (`python -m bot.action_server`, rasa_sdk's app) imports every module of this
package.
"""
