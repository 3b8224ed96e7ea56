import json
import time

from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import Application
from oauth2_provider.oauth2_validators import OAuth2Validator

from .models import Account, Behaviour


class LabValidator(OAuth2Validator):
    """The claims a lab's provider sends, and tokens that die with the person's account (what
    Keycloak or Authentik do when an account is disabled)."""

    oidc_claim_scope = None

    def get_additional_claims(self, request):
        user = request.user
        account = Account.objects.filter(user=user).first() or Account(user=user)
        return {
            "email": user.email,
            "email_verified": account.email_verified,
            "name": account.name,
            "preferred_username": user.username,
            "groups": account.groups.split(),
        }

    def validate_bearer_token(self, token, scopes, request):
        return super().validate_bearer_token(token, scopes, request) and request.user.is_active

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return valid and request.user.is_active


def misbehave(get_response):
    def middleware(request):
        behaviour = Behaviour.objects.first()
        if behaviour and request.path in behaviour.hang_paths.split():
            time.sleep(behaviour.hang_seconds)
        return get_response(request)

    return middleware


@csrf_exempt
def control_user(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    user, _ = User.objects.get_or_create(username=data["username"])
    user.email = data.get("email", user.email)
    user.is_active = data.get("is_active", True)
    if "password" in data:
        user.set_password(data["password"])
    user.save()
    Account.objects.update_or_create(
        user=user,
        defaults={
            "name": data.get("name", ""),
            "email_verified": data.get("email_verified", True),
            "groups": " ".join(data.get("groups", [])),
        },
    )
    return JsonResponse({"sub": str(user.pk)})


@csrf_exempt
def control_client(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    Application.objects.filter(client_id=data["client_id"]).delete()
    Application.objects.create(
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        name=data.get("name", "Lab Portal"),
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(data["redirect_uris"]),
        post_logout_redirect_uris=" ".join(data.get("post_logout_redirect_uris", [])),
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=data.get("skip_authorization", False),
    )
    return JsonResponse({})


@csrf_exempt
def control_behaviour(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    Behaviour.objects.all().delete()
    Behaviour.objects.create(
        hang_paths=" ".join(data.get("hang_paths", [])), hang_seconds=data.get("hang_seconds", 0)
    )
    return JsonResponse({})
