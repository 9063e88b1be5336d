"""Building images from a Containerfile (`pypod build`, Docker's POST /build,
libpod's /libpod/build).

containerfile.py: the file as a model (stages, instructions, heredocs) and
the word rules of Dockerfiles (variable expansion, quoting); pure.
ignore.py: .containerignore/.dockerignore patterns; pure.
context.py: the build context (a directory, a tar, or none) and paths in it
that cannot leave it.
executor.py: the stages run instruction by instruction on the engine:
RUN as a real container (conmon + runc), COPY/ADD into a working overlay,
each step's changes committed as a layer from the overlay's upper dir.
cache.py: the layer cache (a step's inputs -> the image it made).
"""
