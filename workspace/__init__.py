"""The stewards' and agents' web workspace (issue 16): catalog, classification review; in French,
server-rendered, behind the sign-on gateway (issue 14)."""
