"""NDX business registry: enterprises, legal representatives, statuses."""
