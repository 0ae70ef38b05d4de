"""GitOps tooling: what the workflows call, each step also a command a person runs."""
