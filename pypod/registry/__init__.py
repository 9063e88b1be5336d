"""Registries: the OCI distribution protocol, from references to pull and push.

Pure parts (no I/O): reference (image references), manifest (media types,
platform choice), challenge (WWW-Authenticate).  The rest talks to the
world: transport (HTTP/1.1 over h11), client (one registry: auth, retries,
redirects), auth (credentials files and helpers), tlsconfig (certs.d),
shortnames (registries.conf), pull, push, search.

Nothing here is imported by commands that only use local images.
"""
