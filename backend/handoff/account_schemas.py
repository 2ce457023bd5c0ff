"""Wire formats of console sign-in, the account and its second factor (never table rows)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from backend.db.models import Clinician
from backend.handoff import totp

# Six digits; spaces allowed because authenticator apps show "123 456".
TotpCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\d{3} ?\d{3}$", max_length=7)
]


class SignInIn(BaseModel):
    """Email and password; `code` from the authenticator app once a second factor is set up."""

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    code: TotpCode | None = None


class AccountPublic(BaseModel):
    """The signed-in clinician: who, what they may read, and where their second factor is."""

    id: int
    name: str
    email: str
    role: str
    totp_enabled: bool
    # True when the clinic requires a second factor and this account has none yet: the
    # console shows the enrolment and nothing else until it is done.
    totp_setup_needed: bool

    @classmethod
    def of(cls, clinician: Clinician, *, totp_required: bool) -> AccountPublic:
        enabled = totp.enrolled(clinician)
        return cls(
            id=clinician.id,
            name=clinician.name,
            email=clinician.email,
            role=clinician.role,
            totp_enabled=enabled,
            totp_setup_needed=totp_required and not enabled,
        )


class TotpSetupPublic(BaseModel):
    """Scan `qr` (an SVG data URI) with an authenticator app, or type `secret` in."""

    secret: str
    uri: str
    qr: str


class TotpCodeIn(BaseModel):
    code: TotpCode
