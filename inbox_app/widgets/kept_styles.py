"""A widget restyled from the styles it had before in the same state (a focus change, mostly).

When a widget gains or loses the focus, Textual matches every rule of the stylesheet against it
again and builds the styles of each of its component classes (nine for the inbox list) anew:
3–5 ms of a channel switch, which moves the focus from the sidebar to the list. The result
depends only on the stylesheet and on the classes, ids and pseudo-classes of the widget and its
ancestors, so ``KeptStyles`` keeps it by those, and a widget back in a state it was in before
gets the same rules and component styles without the matching. Anything else (a first visit to
a state, a new stylesheet or theme) goes through Textual's path, whose result is then kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.cache import LRUCache
from textual.css.styles import RulesMap, Styles
from textual.widget import Widget

if TYPE_CHECKING:
    _Base = Widget
else:
    _Base = object

#: States kept per widget (focused or not, hovered or not, each narrow or wide screen…).
KEPT_STATES = 16


class KeptStyles(_Base):
    """Mixin (before the widget class) for a widget without children: restyled from kept
    styles in a state seen before. Not a widget itself: Textual finds a widget's CSS (and its
    component classes) through its first widget base."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: By state: the stylesheet's rules they were matched from, the rules, the component
        #: classes' styles.
        self._kept_styles: LRUCache[
            tuple[object, ...], tuple[object, RulesMap, dict[str, Styles]]
        ] = LRUCache(KEPT_STATES)

    def _styles_state(self) -> tuple[object, ...]:
        """Everything the stylesheet's result for this widget depends on."""
        app = self.app
        path = tuple(
            (node._css_type_name, node.id, node.classes, frozenset(node.get_pseudo_classes()))
            for node in self.css_path_nodes
        )
        return (app.stylesheet, app._css_update_count, app.theme, app.ansi_color, path)

    def update_node_styles(self, animate: bool = True) -> None:
        """Restyle, from the kept styles when this state was seen before."""
        if self.children or not self.is_attached:
            super().update_node_styles(animate)
            return
        state = self._styles_state()
        kept = self._kept_styles.get(state)
        rules_map = self.app.stylesheet.rules_map  # a new one when rules were added (a screen's)
        if kept is None or kept[0] is not rules_map:
            super().update_node_styles(animate)
            self._kept_styles[state] = (
                rules_map,
                self.styles.base.get_rules(),
                dict(self._component_styles),
            )
            return
        _, rules, components = kept
        changed = components != self._component_styles
        if changed:
            self._component_styles.clear()
            self._component_styles.update(components)
        stylesheet = self.app.stylesheet
        stylesheet.replace_rules(self, rules, animate=animate)
        if changed:  # the component styles' caches go, as Textual's restyle drops them
            self.notify_style_update()
            self.refresh()
        for bar in (self._vertical_scrollbar, self._horizontal_scrollbar, self._scrollbar_corner):
            if bar is not None and bar.display:
                stylesheet.apply(bar)
