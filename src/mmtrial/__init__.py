"""mmtrial: runs a multiple-myeloma clinical trial end to end."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmtrial")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
