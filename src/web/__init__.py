"""The reference web page: plain HTML, CSS and ES modules served by the API at `/` (no build step)."""
