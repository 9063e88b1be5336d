"""The OCI runtime layer: the OCIRuntime interface and its conmon implementation."""
