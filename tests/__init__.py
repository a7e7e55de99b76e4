"""The test suite (a regular package, so that a `tests` package installed by a dependency never shadows it)."""
