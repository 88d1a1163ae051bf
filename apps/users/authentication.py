"""`Authorization: Bearer <accessToken>` authentication, for every view alike."""

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from apps.users.models import User
from apps.users.tokens import InvalidToken, access_token_verify


class BearerTokenMiddleware:
    """Sets `request.user` from a Bearer access token; a bad token leaves `request.auth_error`.

    Without an Authorization header, Django's session login applies unchanged. With one,
    the token alone decides: a bad, expired or forged token, or an inactive user, makes
    the request anonymous and sets `auth_error`, which the GraphQL view turns into
    UNAUTHENTICATED for the whole operation.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.auth_error = None
        request.token_family = None
        header = request.headers.get("Authorization")
        if header is not None:
            self._authenticate(request, header)
        return self.get_response(request)

    def _authenticate(self, request: HttpRequest, header: str) -> None:
        scheme, _, token = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise InvalidToken
            claims = access_token_verify(token.strip())
            user = User.objects.filter(pk=claims.user_id, is_active=True).first()
            if user is None:
                raise InvalidToken
        except InvalidToken:
            request.user = AnonymousUser()
            request.auth_error = "Invalid or expired access token."
            return
        request.user = user
        request.token_family = claims.family
        request._dont_enforce_csrf_checks = True
