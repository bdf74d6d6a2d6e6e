# Metadata lives in setup.cfg. A setup.py and no pyproject.toml on purpose: pip then builds with the setuptools
# already installed (Debian: python3-setuptools, python3-wheel) instead of downloading a fresh one into an
# isolated build environment, so `pip install ./python` works offline (python/README.md).
from setuptools import setup

setup()
