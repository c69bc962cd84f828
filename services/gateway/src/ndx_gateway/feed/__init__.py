"""Agencies' change feeds: an aggregate's change events, each cut to the agency's grant."""
