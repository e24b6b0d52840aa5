"""The one command-palette provider: every binding of the current screen and of the app."""

from __future__ import annotations

from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class ActionsProvider(Provider):
    """Offers the actions bound to keys, so that everything is reachable from the palette."""

    def _actions(self) -> list[tuple[str, str, object]]:
        found: dict[str, tuple[str, str, object]] = {}
        for owner in (self.screen, self.app):
            for binding in getattr(owner, "BINDINGS", []):
                if isinstance(binding, Binding) and binding.description:
                    found.setdefault(
                        binding.action,
                        (binding.description, binding.key_display or binding.key, owner),
                    )
        return [(desc, f"{action}|{key}", owner) for action, (desc, key, owner) in found.items()]

    async def discover(self) -> Hits:
        for description, ident, owner in self._actions():
            action, key = ident.split("|", 1)
            yield DiscoveryHit(description, partial(owner.run_action, action), help=key)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, ident, owner in self._actions():
            score = matcher.match(description)
            if score > 0:
                action, key = ident.split("|", 1)
                yield Hit(
                    score,
                    matcher.highlight(description),
                    partial(owner.run_action, action),
                    help=key,
                )
