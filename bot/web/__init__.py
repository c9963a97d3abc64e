"""The demo page: plain HTML, CSS and JavaScript served by `naast demo` (no build step)."""
