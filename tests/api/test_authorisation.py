"""Who may call what: every API route × every role, read from the URL configuration itself."""

from __future__ import annotations

import re

import pytest

from receivables.api import ROUTE_RULES, api
from receivables.core.permissions import CAPABILITIES
from receivables.core.tokens import create_token
from tests.conftest import ApiClient, make_user

ROLES = ("viewer", "clerk", "approver", "admin")


def api_routes() -> list[tuple[str, str]]:
    """(method, path) of every operation django-ninja serves, found by walking its routers."""
    routes = []
    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                routes.extend((method, path) for method in operation.methods)
    return sorted(set(routes))


def test_every_route_has_a_permission_rule_and_every_rule_a_route() -> None:
    routes = set(api_routes())
    assert routes, "no routes found: the walk over the routers is broken"
    assert sorted(routes - set(ROUTE_RULES)) == [], "routes without a permission rule"
    assert sorted(set(ROUTE_RULES) - routes) == [], "rules for routes that do not exist"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


def _call(client: ApiClient, method: str, path: str) -> int:
    if method == "GET":
        return client.get(path).status
    if method == "PATCH":
        return client.patch(path, {}).status
    return client.post(path, {}).status


@pytest.fixture
def clients(db: None) -> dict[str, ApiClient]:
    made = {role: ApiClient(create_token(make_user(f"user-{role}", role))) for role in ROLES}
    made["anonymous"] = ApiClient(None)
    made["bad token"] = ApiClient("rcv_00000000_not-a-real-token")
    return made


@pytest.mark.parametrize(("method", "path"), api_routes())
def test_route_answers_each_role_as_its_rule_says(clients: dict[str, ApiClient], method: str, path: str) -> None:
    needed = ROUTE_RULES[(method, path)]
    concrete = _concrete(path)
    for who, client in clients.items():
        status = _call(client, method, concrete)
        if who in ("anonymous", "bad token"):
            assert status == 401, (who, method, path, status)
        elif needed in CAPABILITIES[who]:
            assert status not in (401, 403), (who, method, path, status)
        else:
            assert status == 403, (who, method, path, status)


def test_a_revoked_or_expired_token_is_refused(db: None) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from receivables.core.models import ApiToken
    from receivables.core.tokens import prefix_of, revoke

    user = make_user("someone", "viewer")
    revoked, expired = create_token(user), create_token(user)
    assert ApiClient(revoked).get("/customers").status == 200
    assert revoke(prefix_of(revoked))
    ApiToken.objects.filter(prefix=prefix_of(expired)).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ApiClient(revoked).get("/customers").status == 401
    assert ApiClient(expired).get("/customers").status == 401
    user.is_active = False
    user.save()
    assert ApiClient(create_token(user)).get("/customers").status == 401


def test_tokens_are_stored_as_digests_shown_once_and_listed_by_prefix(api: ApiClient) -> None:
    from receivables.core.models import ApiToken

    make_user("integrator", "clerk", service_account=True)
    created = api.post("/api-tokens", {"user": "integrator", "expires_in_days": 30})
    assert created.status == 201, created.body
    token = created.body["token"]
    assert token.startswith("rcv_") and created.body["prefix"] in token
    stored = ApiToken.objects.get(prefix=created.body["prefix"])
    assert token not in (stored.digest, stored.prefix)
    listed = api.get("/api-tokens").body["items"]
    assert all("token" not in item for item in listed)
    assert ApiClient(token).post("/customers", {"name": "Via Token", "currency": "GBP"}).status == 201
    assert api.post(f"/api-tokens/{created.body['prefix']}/revoke").body["revoked_at"] is not None
    assert ApiClient(token).get("/customers").status == 401
