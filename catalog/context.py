"""What every action receives: its connections, the caller and the settings."""
from dataclasses import dataclass, field

from .store.collaborators import of_user as collaborations_of
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
    _collaborations: dict | None = field(default=None, repr=False)

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

    def collaborations(self):
        """{package_id: capacity} of the datasets the caller collaborates on, read once per context."""
        if self._collaborations is None:
            self._collaborations = collaborations_of(self.db, self.user["id"]) if self.user else {}
        return self._collaborations

    def forget_capacities(self):
        """Drop the cached memberships and collaborations after a write to them."""
        self._capacities = None
        self._collaborations = None
