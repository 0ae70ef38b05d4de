"""shipyard: a declarative, GitOps-driven ML pipeline template on DVC."""

from importlib.metadata import version

__version__ = version("shipyard")  # one source: pyproject.toml
