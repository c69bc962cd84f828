"""NDX land registry: parcels, rights holders, mortgages."""
