"""shipyard: a declarative, GitOps-driven ML pipeline template on DVC."""

__version__ = "0.1.0"
