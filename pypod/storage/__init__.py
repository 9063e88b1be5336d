"""Images and container root filesystems: the image store, safe layer
extraction, and overlayfs mounts."""
