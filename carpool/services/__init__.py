"""Use cases. They flush, validate and enforce state machines; the caller commits once."""
