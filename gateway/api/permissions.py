"""``GET /groups`` (data servers) and ``GET /permissions`` (per user)."""

from __future__ import annotations

from typing import ClassVar

import falcon

from gateway.http.render import ok
from gateway.plugins.records import Principal
from gateway.services import Services


class GroupsResource:
    """Every data-access group of the broker."""

    auth: ClassVar[str | None] = "data"

    def __init__(self, services: Services) -> None:
        self._body = {"groups": [{"id": g.id} for g in services.config.groups]}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Groups (spec operation ``getGroups``)."""
        ok(resp, self._body)


class PermissionsResource:
    """The groups the logged-in user may see."""

    auth: ClassVar[str | None] = "trading"

    def __init__(self, services: Services) -> None:
        self._s = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Permissions (spec operation ``getPermissions``)."""
        principal: Principal = req.context.principal
        ok(resp, {"groups": list(principal.groups)})
