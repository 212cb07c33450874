"""The one place the package version lives (pyproject.toml and grain.xml read it from here)."""

__version__ = "0.1.0"
