"""NDX gateway: the only door for agencies."""
