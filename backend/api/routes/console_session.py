"""Clinician console sign-in and sign-out (a cookie naming a server-side session)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from backend.api.console_auth import (
    CurrentClinician,
    SessionCookie,
    SessionDep,
    clear_session_cookie,
    set_session_cookie,
)
from backend.api.deps import ServicesDep, SettingsDep
from backend.handoff.auth import authenticate, end_session, start_session
from backend.handoff.schemas import ClinicianPublic, LoginIn

router = APIRouter(prefix="/console/api", tags=["console"])


@router.post("/login")
def login(
    body: LoginIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    services: ServicesDep,
    response: Response,
) -> ClinicianPublic:
    """Sign in with email and password; sets the session cookie. Wrong passwords are
    throttled per account and per client before any hashing (handoff/login_throttle.py)."""
    throttle = services.login_throttle
    client = request.client.host if request.client else "unknown"
    refused = throttle.refused(email=body.email, client=client)
    if refused is not None:
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
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    throttle.succeeded(email=body.email)
    sign_in = start_session(
        session=session,
        clinician=clinician,
        lifetime=timedelta(hours=settings.clinician_session_hours),
    )
    set_session_cookie(response, sign_in, settings)
    return ClinicianPublic.of(clinician)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    _clinician: CurrentClinician,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    token: SessionCookie = None,
) -> None:
    """Sign out: the session ends on the server and the cookie is cleared."""
    if token:
        end_session(session=session, token=token)
    clear_session_cookie(response, settings)


@router.get("/me")
def me(clinician: CurrentClinician) -> ClinicianPublic:
    """The signed-in clinician."""
    return ClinicianPublic.of(clinician)
