"""Console dependencies: a database session, and the signed-in clinician (from the cookie).

`SessionDep` and `CurrentClinician` are for plain `def` routes, which FastAPI runs in its
thread pool. `async def` routes take `AsyncClinician` instead: the cookie is checked in a
`DbWork` step (backend/db/work.py), so no session (nor its connection) stays open while the
route awaits Rasa, the EHR or a provider, or streams events.
"""

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
    return _signed_in(clinician_for_token(session=session, token=token) if token else None)


async def clinician_off_loop(services: ServicesDep, token: SessionCookie = None) -> Clinician:
    """`current_clinician` for `async def` routes, in a database step of its own."""
    if not token:
        return _signed_in(None)
    return _signed_in(
        await services.db.run(lambda session: clinician_for_token(session=session, token=token))
    )


def _signed_in(clinician: Clinician | None) -> Clinician:
    if clinician is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in to the clinician console",
            headers={"WWW-Authenticate": "Cookie"},
        )
    return clinician


CurrentClinician = Annotated[Clinician, Depends(current_clinician)]
AsyncClinician = Annotated[Clinician, Depends(clinician_off_loop)]


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
