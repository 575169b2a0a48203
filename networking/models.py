"""Security groups, guest networks and public IPs arrive with the networking issue."""
