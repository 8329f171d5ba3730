"""What every action receives: its connections, the caller and the settings."""
from dataclasses import dataclass, field

from .store.groups import capacities_of


@dataclass
class Context:
    """Connections and caller of one action call (one HTTP request or one CLI command)."""

    db: object
    settings: object
    user: dict | None = None
    site_url: str = ""
    harvesting: str | None = None   # the harvest source writing through this context (its datasets are read-only
                                    # to everyone else while the source is attached)
    _capacities: dict | None = field(default=None, repr=False)

    @property
    def sysadmin(self):
        return bool(self.user and self.user.get("sysadmin"))

    @property
    def user_id(self):
        return self.user["id"] if self.user else None

    def capacities(self):
        """{org_or_group_id: capacity} for the caller, read once per context."""
        if self._capacities is None:
            self._capacities = {}
            if self.user:
                self._capacities = capacities_of(self.db, self.user["id"])
        return self._capacities

    def forget_capacities(self):
        """Drop the cached memberships after a membership write."""
        self._capacities = None
