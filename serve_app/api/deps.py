"""Dependencies as Annotated aliases: the service, the signed-in user, an admin.

All `async def`: FastAPI runs plain `def` dependencies in a thread pool, which cost a thread hop per request and let
a burst open more Redis connections than the pool holds (seen: MaxConnectionsError at 1,000 concurrent submissions).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from serve_app.api.services import ReelsService
from serve_app.users import User

bearer = HTTPBearer(auto_error=False, description="an API key from `reels users create NAME`")
query_token = APIKeyQuery(name="token", auto_error=False, description="for EventSource and WebSocket clients")


async def get_service(request: Request) -> ReelsService:
    service: ReelsService = request.app.state.service()
    return service


Service = Annotated[ReelsService, Depends(get_service)]


async def current_user(
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
