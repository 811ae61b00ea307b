"""`initspec bench` (placeholder until its issue lands)."""


def register(app) -> None:  # noqa: ANN001
    pass
