"""The embedded lab: good and deliberately broken TLS and HTTP servers on loopback."""
