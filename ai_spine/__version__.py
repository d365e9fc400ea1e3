"""The SDK's version, in one place (read by setup.py without importing the package)."""

__version__ = "3.0.0"
