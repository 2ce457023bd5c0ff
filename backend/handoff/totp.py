"""The console's second factor: TOTP (RFC 6238, `pyotp`), enrolled by a QR code.

Enrolment is two steps so a mistyped secret never locks anyone out: `begin_enrolment` keeps a
new secret as pending and returns the otpauth URI and its QR code (an SVG data URI drawn here
by `segno`, so the secret never reaches a third-party QR service); `confirm_enrolment` makes
it the account's factor once a code from the phone matches. Secrets are stored encrypted with
the backend's Cipher.

A code is accepted for the current 30-second step or one step either side (clock drift), and
only once: the step of the last accepted code is kept, and a code must be for a later step.
That check is one conditional UPDATE, so two sign-ins racing with the same code (on two hub
workers) cannot both win.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from backend.core.crypto import Cipher
from backend.db.models import Clinician, utcnow

ISSUER = "Patient assistant console"
DRIFT_STEPS = 1  # a code from the step before or after the current one is still taken


class AlreadyEnrolled(Exception):
    """The account has a second factor; an administrator resets it before a new one is set."""


class NothingToConfirm(Exception):
    """No enrolment in progress: start one first."""


@dataclass(frozen=True)
class Enrolment:
    """What the console shows to set up an authenticator app."""

    secret: str  # base32, for typing in when the camera cannot read the code
    uri: str  # otpauth://totp/...
    qr_svg_data_uri: str


def enrolled(clinician: Clinician) -> bool:
    return clinician.totp_secret_ciphertext is not None


def begin_enrolment(*, session: Session, cipher: Cipher, clinician: Clinician) -> Enrolment:
    """A new pending secret (replacing any earlier unfinished one)."""
    if enrolled(clinician):
        raise AlreadyEnrolled
    secret = pyotp.random_base32()
    clinician.totp_pending_ciphertext = cipher.encrypt(secret)
    session.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=clinician.email, issuer_name=ISSUER)
    qr = segno.make(uri, error="m").svg_data_uri(scale=4)
    return Enrolment(secret=secret, uri=uri, qr_svg_data_uri=qr)


def confirm_enrolment(*, session: Session, cipher: Cipher, clinician: Clinician, code: str) -> bool:
    """Make the pending secret the account's factor when `code` matches it; False if not."""
    if enrolled(clinician):
        raise AlreadyEnrolled
    if clinician.totp_pending_ciphertext is None:
        raise NothingToConfirm
    step = _matching_step(cipher.decrypt(clinician.totp_pending_ciphertext), code, utcnow())
    if step is None:
        return False
    clinician.totp_secret_ciphertext = clinician.totp_pending_ciphertext
    clinician.totp_pending_ciphertext = None
    clinician.totp_last_step = step  # the code used to enrol cannot sign in as well
    session.commit()
    return True


def accept_code(*, session: Session, cipher: Cipher, clinician: Clinician, code: str) -> bool:
    """True when `code` is right for the account's secret and was never used before."""
    if clinician.totp_secret_ciphertext is None:
        return False
    step = _matching_step(cipher.decrypt(clinician.totp_secret_ciphertext), code, utcnow())
    if step is None:
        return False
    claimed = session.execute(
        update(Clinician)
        .where(
            Clinician.id == clinician.id,
            or_(Clinician.totp_last_step.is_(None), Clinician.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(clinician)
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def reset(*, session: Session, clinician: Clinician) -> None:
    """Remove the second factor (a lost phone); the clinician enrols again."""
    clinician.totp_secret_ciphertext = None
    clinician.totp_pending_ciphertext = None
    clinician.totp_last_step = None
    session.commit()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step `code` belongs to, within the drift allowed; None when it matches none."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        moment = now.timestamp() + offset * totp.interval
        if hmac.compare_digest(totp.at(moment), code):
            return totp.timecode(moment)
    return None
