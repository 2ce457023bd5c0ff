"""Console dependencies: a database session, and the signed-in clinician (from the cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Cookie, Depends, HTTPException, Response, status
from sqlalchemy.orm import Session

from backend.api.deps import ServicesDep
from backend.core.config import Settings
from backend.db.models import Clinician
from backend.handoff.auth import SignIn, clinician_for_token

COOKIE = "console_session"
COOKIE_PATH = "/console"


def get_db(services: ServicesDep) -> Iterator[Session]:
    with services.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
SessionCookie = Annotated[str | None, Cookie(alias=COOKIE)]


def current_clinician(session: SessionDep, token: SessionCookie = None) -> Clinician:
    """The clinician whose unexpired session the cookie names; 401 for anyone else."""
    clinician = clinician_for_token(session=session, token=token) if token else None
    if clinician is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in to the clinician console",
            headers={"WWW-Authenticate": "Cookie"},
        )
    return clinician


CurrentClinician = Annotated[Clinician, Depends(current_clinician)]


def set_session_cookie(response: Response, sign_in: SignIn, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        sign_in.token,
        expires=sign_in.expires_at,
        path=COOKIE_PATH,
        httponly=True,
        secure=settings.env == "production",
        samesite="strict",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        secure=settings.env == "production",
        samesite="strict",
    )
