"""The data tracker: an index of the audit topic by data subject, and the API citizens see."""
