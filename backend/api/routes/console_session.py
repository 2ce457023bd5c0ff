"""Clinician console sign-in and sign-out (a cookie naming a server-side session)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Response, status

from backend.api.console_auth import (
    CurrentClinician,
    SessionCookie,
    SessionDep,
    clear_session_cookie,
    set_session_cookie,
)
from backend.api.deps import SettingsDep
from backend.handoff.auth import authenticate, end_session, start_session
from backend.handoff.schemas import ClinicianPublic, LoginIn

router = APIRouter(prefix="/console/api", tags=["console"])


@router.post("/login")
def login(
    body: LoginIn, session: SessionDep, settings: SettingsDep, response: Response
) -> ClinicianPublic:
    """Sign in with email and password; sets the session cookie."""
    clinician = authenticate(session=session, email=body.email, password=body.password)
    if clinician is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
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
