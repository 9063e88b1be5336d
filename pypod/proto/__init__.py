"""Pure, sans-IO protocol pieces: wire formats and parsers with no sockets or processes."""
