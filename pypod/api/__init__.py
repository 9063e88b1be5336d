"""The REST front door: `pypod system service`, speaking the Docker Engine
API and the libpod API over the same engine as the CLI and the library."""
