"""Statistics that judge keepwarm's own outreach (did a campaign bring clients back?): plain
numbers in, plain numbers out. Like the rhythm engine, a leaf: it imports nothing else of
keepwarm."""
