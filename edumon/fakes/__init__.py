"""Local fake servers that speak the sources' real protocols, for tests and `edumon demo`."""
