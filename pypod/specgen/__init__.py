"""What a user asks of a container, parsed: the layer below the front doors.

The CLI's flags and the REST service's request bodies both end in a
ContainerConfig; the parsing they share (volume specs, sizes, ...) lives
here so that neither front door imports the other, as podman's specgen
sits under both its command line and its API handlers.
"""
