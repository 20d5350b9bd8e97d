"""ember.utils: hooks and data-loading utilities."""
