"""The one layer that opens transactions. The CLI and the web call these functions."""
