"""Reading the business's CSV exports: encodings, dialects, header aliases, row validation.

No database here: rows in, typed records and line-numbered problems out."""
