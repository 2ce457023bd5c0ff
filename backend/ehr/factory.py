"""Build the EHR port from configuration values (the backend's Settings supplies them).

connect_ehr(base_url="http://127.0.0.1:8090/fhir")                       # embedded, no auth
connect_ehr(base_url=url, auth="smart", smart_client_id="patient-assistant",
            smart_key_file="var/ehr/keys/assistant.pem")                  # SMART backend services
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from .auth import EhrAuth, SmartBackendAuth
from .fhir_http import FhirHttpEhr

AuthMode = Literal["none", "smart"]


def connect_ehr(
    *,
    base_url: str,
    auth: AuthMode = "none",
    smart_client_id: str | None = None,
    smart_key_file: str | Path | None = None,
    smart_scope: str = "system/*.read system/*.write",
    smart_alg: str = "RS384",
    smart_token_url: str | None = None,
    smart_kid: str | None = None,
    timeout_s: float = 5.0,
    audit_agent: str = "patient-assistant",
) -> FhirHttpEhr:
    """The HTTP EHR with the configured authentication; raises ValueError on a bad configuration.

    `auth="smart"` needs `smart_client_id` and `smart_key_file` (a PEM private key, RSA for RS384
    or EC P-384 for ES384, whose public key is registered at the EHR under that client id).
    """
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"EHR base URL must be http(s), got {base_url!r}")
    credentials: EhrAuth | None = None
    if auth == "smart":
        if not smart_client_id or not smart_key_file:
            raise ValueError("EHR auth 'smart' needs a client id and a private key file")
        key = Path(smart_key_file)
        if not key.is_file():
            raise ValueError(f"SMART private key file {key} does not exist")
        credentials = SmartBackendAuth(
            client_id=smart_client_id,
            private_key_pem=key.read_text(),
            token_url=smart_token_url,
            scope=smart_scope,
            alg=smart_alg,
            kid=smart_kid,
        )
    elif auth != "none":
        raise ValueError(f"EHR auth must be 'none' or 'smart', not {auth!r}")
    return FhirHttpEhr(base_url, timeout_s=timeout_s, auth=credentials, audit_agent=audit_agent)
