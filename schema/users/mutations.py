from datetime import datetime

import strawberry
from strawberry import Info, relay

from apps.users import login_limits, services, tokens
from apps.users.models import User
from schema.context import get_client_address, get_viewer
from schema.errors import Conflict, TooManyRequests, Unauthenticated
from schema.ids import object_of
from schema.permissions import IsAdmin, IsAuthenticated, require
from schema.results import reload_for_selection
from schema.users.types import UserType


@strawberry.type
class TokenPair:
    access_token: str = strawberry.field(
        description="Send as `Authorization: Bearer <accessToken>`."
    )
    refresh_token: str = strawberry.field(description="Single use: refreshing rotates it.")
    access_expires_at: datetime


@strawberry.input
class RegisterInput:
    email: str
    name: str
    password: str


@strawberry.input
class ObtainTokenInput:
    email: str
    password: str


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input
class UpdateProfileInput:
    name: str | None = None
    password: str | None = None
    current_password: str | None = strawberry.field(
        default=None, description="Required to change the password."
    )


@strawberry.input
class DeactivateUserInput:
    id: relay.GlobalID


def _token_pair(pair: tokens.TokenPair) -> TokenPair:
    return TokenPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        access_expires_at=pair.access_expires_at,
    )


@strawberry.type
class UserMutations:
    @strawberry.mutation(description="Creates a USER account; a welcome email follows.")
    def register(self, info: Info, input: RegisterInput) -> UserType:
        user = services.user_register(email=input.email, name=input.name, password=input.password)
        return reload_for_selection(user, info)

    @strawberry.mutation(description="Signs in: a new access and refresh token pair.")
    def obtain_token(self, info: Info, input: ObtainTokenInput) -> TokenPair:
        try:
            pair = tokens.token_obtain(
                email=input.email,
                password=input.password,
                client_address=get_client_address(info),
            )
        except login_limits.TooManyAttempts as refusal:
            raise TooManyRequests(
                "Too many failed attempts; try again later.", retry_after=refusal.retry_after
            ) from None
        except tokens.InvalidCredentials:
            raise Unauthenticated("Wrong email or password.") from None
        return _token_pair(pair)

    @strawberry.mutation(description="Rotates a refresh token: the old one stops working.")
    def refresh_token(self, input: RefreshTokenInput) -> TokenPair:
        try:
            return _token_pair(tokens.token_refresh(refresh_token=input.refresh_token))
        except tokens.InvalidToken:
            raise Unauthenticated("Invalid refresh token.") from None

    @strawberry.mutation(description="Ends a refresh token at once (logout).")
    def revoke_token(self, input: RefreshTokenInput) -> bool:
        return tokens.token_revoke(refresh_token=input.refresh_token)

    @strawberry.mutation(
        description="Changes the caller's name or password.",
        extensions=[require(IsAuthenticated())],
    )
    def update_profile(self, info: Info, input: UpdateProfileInput) -> UserType:
        user = services.user_update_profile(
            user=get_viewer(info),
            name=input.name,
            password=input.password,
            current_password=input.current_password,
            keep_token_family=getattr(info.context.request, "token_family", None),
        )
        return reload_for_selection(user, info)

    @strawberry.mutation(
        description="Deactivates a user and ends its tokens (ADMIN).",
        extensions=[require(IsAdmin())],
    )
    def deactivate_user(self, info: Info, input: DeactivateUserInput) -> UserType:
        user = object_of(input.id, "User", User.objects.all())
        if user.pk == get_viewer(info).pk:
            raise Conflict("You cannot deactivate your own account.")
        return reload_for_selection(services.user_deactivate(user=user), info)
