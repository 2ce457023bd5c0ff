"""Clinician console sign-in and sign-out (a cookie naming a server-side session).

Sign-in is the password, then (once the account has set one up) a code from an authenticator
app, sent with the password in the same request. Every attempt, either way, is audited
(backend/handoff/console_audit.py).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.orm import Session

from backend.api.console_auth import (
    EnrollingClinician,
    SessionCookie,
    SessionDep,
    clear_session_cookie,
    set_session_cookie,
)
from backend.api.deps import ServicesDep, SettingsDep
from backend.api.routes import console_totp
from backend.db.models import Clinician
from backend.handoff import console_audit, totp
from backend.handoff.account_schemas import AccountPublic, SignInIn
from backend.handoff.auth import (
    authenticate,
    end_all_sessions,
    end_session,
    find_clinician,
    start_session,
)
from backend.handoff.console_audit import ConsoleEvent
from backend.services import Services

router = APIRouter(prefix="/console/api", tags=["console"])
router.include_router(console_totp.router)

SECOND_FACTOR_HEADER = "X-Second-Factor"


def audit(session: Session, services: Services, event: ConsoleEvent) -> None:
    console_audit.audit_from_thread(session=session, ehr=services.ehr, event=event)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refuse(
    session: Session,
    services: Services,
    *,
    email: str,
    client: str,
    reason: str,
    clinician: Clinician | None = None,
) -> None:
    """Audit a refused sign-in (naming the account when the email is one, never the email)."""
    known = clinician or find_clinician(session=session, email=email)
    audit(
        session,
        services,
        ConsoleEvent(
            console_audit.SIGN_IN,
            "failure",
            known.id if known else None,
            client=client,
            detail=reason,
        ),
    )


@router.post("/login")
def login(
    body: SignInIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    services: ServicesDep,
    response: Response,
) -> AccountPublic:
    """Sign in with email, password and (once set up) the authenticator code; sets the session
    cookie. Wrong passwords and codes are throttled per account and per client before any
    hashing (handoff/login_throttle.py). 401 with `X-Second-Factor: totp` asks for the code."""
    throttle = services.login_throttle
    client = _client(request)
    refused = throttle.refused(email=body.email, client=client)
    if refused is not None:
        _refuse(session, services, email=body.email, client=client, reason="throttled")
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many wrong sign-ins: wait and try again, or ask an administrator",
            headers={"Retry-After": str(refused.retry_after_s)},
        )
    if not throttle.hashing_turn():
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "sign-in is busy: try again in a moment",
            headers={"Retry-After": "2"},
        )
    try:
        clinician = authenticate(session=session, email=body.email, password=body.password)
    finally:
        throttle.done_hashing()
    if clinician is None:
        throttle.failed(email=body.email, client=client)
        _refuse(session, services, email=body.email, client=client, reason="password")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    if totp.enrolled(clinician):
        _second_factor(session, services, body, clinician, client)
    # Only a complete sign-in clears the account's count: a right password followed by wrong
    # codes keeps counting, so the code cannot be guessed by alternating.
    throttle.succeeded(email=body.email)
    sign_in = start_session(
        session=session,
        clinician=clinician,
        lifetime=timedelta(hours=settings.clinician_session_hours),
    )
    factors = "password+totp" if totp.enrolled(clinician) else "password"
    audit(
        session,
        services,
        ConsoleEvent(console_audit.SIGN_IN, "success", clinician.id, client=client, detail=factors),
    )
    set_session_cookie(response, sign_in, settings)
    return AccountPublic.of(clinician, totp_required=settings.console_require_totp)


def _second_factor(
    session: Session, services: Services, body: SignInIn, clinician: Clinician, client: str
) -> None:
    """Raise 401 unless the request carries a right, unused code."""
    if body.code is None:
        _refuse(
            session,
            services,
            email=body.email,
            client=client,
            reason="code_needed",
            clinician=clinician,
        )
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "enter the 6-digit code from your authenticator app",
            headers={SECOND_FACTOR_HEADER: "totp"},
        )
    if not totp.accept_code(
        session=session, cipher=services.cipher, clinician=clinician, code=body.code
    ):
        services.login_throttle.failed(email=body.email, client=client)
        _refuse(
            session,
            services,
            email=body.email,
            client=client,
            reason="code_wrong",
            clinician=clinician,
        )
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong or already used code: wait for the next one",
            headers={SECOND_FACTOR_HEADER: "totp"},
        )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    _clinician: EnrollingClinician,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    token: SessionCookie = None,
) -> None:
    """Sign out: the session ends on the server and the cookie is cleared."""
    if token:
        end_session(session=session, token=token)
    clear_session_cookie(response, settings)


@router.post("/logout-everywhere", status_code=status.HTTP_204_NO_CONTENT)
def logout_everywhere(
    clinician: EnrollingClinician,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    services: ServicesDep,
    response: Response,
) -> None:
    """Sign out on every device: all of the account's sessions end (a lost or shared one)."""
    ended = end_all_sessions(session=session, clinician_id=clinician.id)
    audit(
        session,
        services,
        ConsoleEvent(
            console_audit.SIGN_OUT_EVERYWHERE,
            "success",
            clinician.id,
            client=_client(request),
            detail=f"sessions={ended}",
        ),
    )
    clear_session_cookie(response, settings)


@router.get("/me")
def me(clinician: EnrollingClinician, settings: SettingsDep) -> AccountPublic:
    """The signed-in clinician."""
    return AccountPublic.of(clinician, totp_required=settings.console_require_totp)
