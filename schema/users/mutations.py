from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from apps.users import services, tokens
from apps.users.models import User
from schema.core.context import Info
from schema.core.ids import object_of
from schema.core.permissions import IsAdmin, IsAuthenticated, require
from schema.core.results import reload_for_selection
from schema.users.types import UserType


@strawberry.type(
    description="A signed-in session: an access token and the refresh token to renew it."
)
class TokenPair:
    access_token: str = strawberry.field(
        description="Send as `Authorization: Bearer <accessToken>` until accessExpiresAt."
    )
    refresh_token: str = strawberry.field(
        description="Single use: refreshToken trades it for a new pair; revokeToken ends it."
    )
    access_expires_at: datetime = strawberry.field(
        description="When the access token stops working (15 minutes after issue by default), "
        "unless its sign-in ends before (revokeToken, a password change, a deactivation)."
    )


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(
        description="Login address; unique ignoring case and stored lower-case."
    )
    name: str = strawberry.field(description="Display name, 1 to 100 characters once trimmed.")
    password: str = strawberry.field(
        description="At least 8 characters, not a common password, not only digits, and not "
        "too like the email."
    )


@strawberry.input(description="The credentials to sign in with.")
class ObtainTokenInput:
    email: str = strawberry.field(description="Login address, in any case.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.input(description="A refresh token, as obtainToken or refreshToken returned it.")
class RefreshTokenInput:
    refresh_token: str = strawberry.field(description="The refresh token.")


@strawberry.input(description="Changes to the caller's profile; omitted fields stay as they are.")
class UpdateProfileInput:
    name: str | None = strawberry.field(
        default=None, description="New display name, 1 to 100 characters once trimmed."
    )
    password: str | None = strawberry.field(
        default=None,
        description="New password, by register's rules; needs currentPassword. Every other "
        "session ends: its refresh and access tokens stop working at once.",
    )
    current_password: str | None = strawberry.field(
        default=None,
        description="Required to change the password; missing or wrong, BAD_USER_INPUT.",
    )


@strawberry.input(description="The user to deactivate.")
class DeactivateUserInput:
    id: relay.GlobalID = strawberry.field(description="The user's global id.")


def _token_pair(pair: tokens.TokenPair) -> TokenPair:
    return TokenPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        access_expires_at=pair.access_expires_at,
    )


@strawberry.type
class UserMutations:
    @strawberry.mutation(
        description="Creates a USER account, for anyone; a welcome email follows. "
        "BAD_USER_INPUT for an invalid or taken email, a name out of bounds or a weak password."
    )
    def register(
        self,
        info: Info,
        input: Annotated[RegisterInput, strawberry.argument(description="The new account.")],
    ) -> UserType:
        user = services.user_register(email=input.email, name=input.name, password=input.password)
        return reload_for_selection(user, info)

    @strawberry.mutation(
        description="Signs in, for anyone: a new access and refresh token pair. "
        "UNAUTHENTICATED for a wrong email or password or a deactivated account. After 5 "
        "failures for one email from one client address within 15 minutes, that pair gets "
        "TOO_MANY_REQUESTS until the window passes (even with the right password), and so "
        "does an address after 100 failures for any emails; the error's "
        "`extensions.retryAfter` and the `Retry-After` header give the seconds to wait."
    )
    def obtain_token(
        self,
        info: Info,
        input: Annotated[ObtainTokenInput, strawberry.argument(description="The credentials.")],
    ) -> TokenPair:
        pair = tokens.token_obtain(
            email=input.email, password=input.password, client_address=info.context.client_address
        )
        return _token_pair(pair)

    @strawberry.mutation(
        description="Trades a refresh token for a new pair; the old one stops working. "
        "UNAUTHENTICATED for an unknown, spent, expired or revoked token or a deactivated "
        "account; a spent token presented again also ends its sign-in: every refresh and "
        "access token of it."
    )
    def refresh_token(
        self,
        input: Annotated[
            RefreshTokenInput, strawberry.argument(description="The refresh token to spend.")
        ],
    ) -> TokenPair:
        return _token_pair(tokens.token_refresh(refresh_token=input.refresh_token))

    @strawberry.mutation(
        description="Signs out, for anyone holding the token: it and the access tokens of its "
        "sign-in stop working at once. true when it ended a token, false when the token was "
        "not usable anyway."
    )
    def revoke_token(
        self,
        input: Annotated[
            RefreshTokenInput, strawberry.argument(description="The refresh token to end.")
        ],
    ) -> bool:
        return tokens.token_revoke(refresh_token=input.refresh_token)

    @strawberry.mutation(
        description="Changes the caller's name or password; UNAUTHENTICATED when anonymous. "
        "BAD_USER_INPUT for a name out of bounds, a weak password, or a missing or wrong "
        "currentPassword.",
        extensions=[require(IsAuthenticated())],
    )
    def update_profile(
        self,
        info: Info,
        input: Annotated[UpdateProfileInput, strawberry.argument(description="The changes.")],
    ) -> UserType:
        user = services.user_update_profile(
            user=info.context.viewer,
            name=input.name,
            password=input.password,
            current_password=input.current_password,
            keep_token_family=info.context.token_family,
        )
        return reload_for_selection(user, info)

    @strawberry.mutation(
        description="Deactivates a user: it can no longer sign in and its tokens stop working. "
        "ADMIN only (FORBIDDEN for others, UNAUTHENTICATED when anonymous); NOT_FOUND for an "
        "unknown user, CONFLICT for your own account.",
        extensions=[require(IsAdmin())],
    )
    def deactivate_user(
        self,
        info: Info,
        input: Annotated[
            DeactivateUserInput, strawberry.argument(description="The user to deactivate.")
        ],
    ) -> UserType:
        user = object_of(input.id, "User", User.objects.all())
        return reload_for_selection(
            services.user_deactivate(user=user, by=info.context.viewer), info
        )
