"""Shared fixtures of Seawall's own tests."""

pytest_plugins = ["pytester"]
