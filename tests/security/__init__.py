"""Each finding of the security review replayed as an attack that must fail."""
