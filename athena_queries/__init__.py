"""Saved Athena queries over the interactions table (one .sql file each) and the tools that run them."""
