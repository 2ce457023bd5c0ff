"""Setting up the console's second factor: a QR code to scan, then one code to confirm.

Any signed-in clinician may set it up (also one whom CONSOLE_REQUIRE_TOTP keeps out of
everything else until they do). Confirming ends the account's other sessions and starts a new
one, so sessions opened with the password alone do not outlive the new factor. Removing a
factor (a lost phone) is an administrator's command: `python -m backend.handoff.accounts
reset-totp --email ...`.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from backend.api.console_auth import EnrollingClinician, SessionDep, set_session_cookie
from backend.api.deps import ServicesDep, SettingsDep
from backend.handoff import console_audit, totp
from backend.handoff.account_schemas import AccountPublic, TotpCodeIn, TotpSetupPublic
from backend.handoff.auth import end_all_sessions, start_session
from backend.handoff.console_audit import ConsoleEvent

router = APIRouter(prefix="/totp")


@router.post("/setup")
def begin_totp(
    clinician: EnrollingClinician, session: SessionDep, services: ServicesDep
) -> TotpSetupPublic:
    """A new secret to scan (QR code as an SVG data URI) or type in; 409 if one is set up."""
    try:
        setup = totp.begin_enrolment(session=session, cipher=services.cipher, clinician=clinician)
    except totp.AlreadyEnrolled as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "a second factor is set up already: ask an administrator to reset it first",
        ) from exc
    return TotpSetupPublic(secret=setup.secret, uri=setup.uri, qr=setup.qr_svg_data_uri)


@router.post("/confirm")
def confirm_totp(
    body: TotpCodeIn,
    clinician: EnrollingClinician,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    services: ServicesDep,
    response: Response,
) -> AccountPublic:
    """Finish the set-up with the app's current code (400 when it does not match)."""
    try:
        confirmed = totp.confirm_enrolment(
            session=session, cipher=services.cipher, clinician=clinician, code=body.code
        )
    except totp.AlreadyEnrolled as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "a second factor is set up already") from exc
    except totp.NothingToConfirm as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "nothing to confirm: start the set-up first"
        ) from exc
    client = request.client.host if request.client else None
    console_audit.audit_from_thread(
        session=session,
        ehr=services.ehr,
        event=ConsoleEvent(
            console_audit.TOTP_ENROLLED,
            "success" if confirmed else "failure",
            clinician.id,
            client=client,
        ),
    )
    if not confirmed:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "that code does not match: check the phone's time and enter the current code",
        )
    end_all_sessions(session=session, clinician_id=clinician.id)
    sign_in = start_session(
        session=session,
        clinician=clinician,
        lifetime=timedelta(hours=settings.clinician_session_hours),
    )
    set_session_cookie(response, sign_in, settings)
    return AccountPublic.of(clinician, totp_required=settings.console_require_totp)
