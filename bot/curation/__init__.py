"""Keeping the record: content files and their checks, the admin gate, admin forms and moments,
export and import, and fetching and reading a source page."""
