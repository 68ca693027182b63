"""Data files shipped with the app (injected JavaScript, simulator pages, icons)."""
