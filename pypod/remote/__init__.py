"""pypod as a client of a pypod (or podman) service: where the service is
(--url, --connection, CONTAINER_HOST, `system connection`), and a small
libpod API client over a unix socket or TCP."""
