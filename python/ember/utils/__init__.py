"""ember.utils: hooks and data-loading utilities."""


def __getattr__(name):
    # ember.utils.data is imported on first use, keeping `import ember` light.
    if name == "data":
        import importlib
        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
