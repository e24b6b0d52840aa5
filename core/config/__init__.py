"""Configuration: settings from CLI flags, environment, a TOML file and defaults."""

from core.config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
