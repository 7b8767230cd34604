def custom_key_func(key, key_prefix, version):
    """A key function as Django's cache tests define one."""
    return "CUSTOM-" + "-".join([key_prefix, str(version), key])
