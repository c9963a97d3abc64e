"""Tests that drive a real headless Chromium (marker `browser`)."""
