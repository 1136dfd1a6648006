"""Settings package: ``base`` is complete; ``test`` and ``production`` adjust it."""
