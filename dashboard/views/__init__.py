"""The dashboard's pages, one module each; they may import ``dashboard.*`` and what it may."""
