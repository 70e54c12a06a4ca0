"""Dependencies as Annotated aliases: the service, the signed-in user, an admin.

The ones that may touch Redis are plain `def`: FastAPI runs them in its thread pool, so a slow Redis stalls only
that request, never the event loop the live streams share. The job store's pool blocks when all its connections
are taken (it holds more than the thread pool has threads), so a burst waits instead of failing."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from serve_app.api.services import ReelsService
from serve_app.users import User

bearer = HTTPBearer(auto_error=False, description="an API key from `reels users create NAME`")
query_token = APIKeyQuery(name="token", auto_error=False, description="for EventSource and WebSocket clients")


def get_service(request: Request) -> ReelsService:
    """The replica's service; the first call connects (a Redis read for the link secret)."""
    service: ReelsService = request.app.state.service()
    return service


Service = Annotated[ReelsService, Depends(get_service)]


def current_user(
    service: Service,
    header: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    token: Annotated[str | None, Security(query_token)] = None,
) -> User:
    given = header.credentials if header is not None else token
    user = service.users.authenticate(given) if given else None
    if user is None:
        detail = "invalid or revoked token" if given else "missing token: send Authorization: Bearer TOKEN"
        raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
    return user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise HTTPException(403, "admin only")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
