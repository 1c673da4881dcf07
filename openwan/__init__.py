"""OpenWan media asset management."""

__version__ = "0.1.0"
