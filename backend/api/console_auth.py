"""Console dependencies: a database session, and the signed-in clinician (from the cookie).

`SessionDep` and `CurrentClinician` are for plain `def` routes, which FastAPI runs in its
thread pool. `async def` routes take `AsyncClinician` instead: the cookie is checked in a
`DbWork` step (backend/db/work.py), so no session (nor its connection) stays open while the
route awaits Rasa, the EHR or a provider, or streams events.

`CurrentClinician` is a clinician who may work: with CONSOLE_REQUIRE_TOTP on, one who has set
up a second factor. `EnrollingClinician` is any signed-in clinician (who sees who they are,
signs out, and sets up the second factor). A request with the `X-Console-Refresh` header (the
page's timed refreshes) does not count as the clinician's action for the idle limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Cookie, Depends, Header, HTTPException, Response, status
from sqlalchemy.orm import Session

from backend.api.deps import ServicesDep, SettingsDep
from backend.core.config import Settings
from backend.db.models import Clinician
from backend.handoff import totp
from backend.handoff.auth import SignIn, clinician_for_token

COOKIE = "console_session"
COOKIE_PATH = "/console"
REFRESH_HEADER = "X-Console-Refresh"


def get_db(services: ServicesDep) -> Iterator[Session]:
    with services.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
SessionCookie = Annotated[str | None, Cookie(alias=COOKIE)]
RefreshHeader = Annotated[str | None, Header(alias=REFRESH_HEADER)]


def idle_limit(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.clinician_session_idle_minutes)


def signed_in_clinician(
    session: SessionDep,
    settings: SettingsDep,
    token: SessionCookie = None,
    refresh: RefreshHeader = None,
) -> Clinician:
    """The clinician whose live session the cookie names; 401 for anyone else."""
    if not token:
        return _signed_in(None)
    return _signed_in(
        clinician_for_token(
            session=session, token=token, idle=idle_limit(settings), touch=refresh is None
        )
    )


EnrollingClinician = Annotated[Clinician, Depends(signed_in_clinician)]


async def current_clinician(clinician: EnrollingClinician, settings: SettingsDep) -> Clinician:
    """A signed-in clinician who may work (second factor set up when it is required)."""
    return _may_work(clinician, settings)


async def clinician_off_loop(
    services: ServicesDep, token: SessionCookie = None, refresh: RefreshHeader = None
) -> Clinician:
    """`current_clinician` for `async def` routes, in a database step of its own."""
    if not token:
        return _signed_in(None)
    idle = idle_limit(services.settings)
    found = await services.db.run(
        lambda session: clinician_for_token(
            session=session, token=token, idle=idle, touch=refresh is None
        )
    )
    return _may_work(_signed_in(found), services.settings)


def _signed_in(clinician: Clinician | None) -> Clinician:
    if clinician is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in to the clinician console",
            headers={"WWW-Authenticate": "Cookie"},
        )
    return clinician


def _may_work(clinician: Clinician, settings: Settings) -> Clinician:
    if settings.console_require_totp and not totp.enrolled(clinician):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "set up your second factor first (an authenticator app; the console shows how)",
        )
    return clinician


CurrentClinician = Annotated[Clinician, Depends(current_clinician)]
AsyncClinician = Annotated[Clinician, Depends(clinician_off_loop)]


def cookie_secure(settings: Settings) -> bool:
    """Secure (sent over HTTPS only) everywhere but development, unless set explicitly."""
    if settings.console_cookie_secure is not None:
        return settings.console_cookie_secure
    return settings.env != "development"


def set_session_cookie(response: Response, sign_in: SignIn, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        sign_in.token,
        expires=sign_in.expires_at,
        path=COOKIE_PATH,
        httponly=True,
        secure=cookie_secure(settings),
        samesite="strict",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        secure=cookie_secure(settings),
        samesite="strict",
    )
