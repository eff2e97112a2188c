"""Raises on import, like an engine whose native library is missing on this machine."""

raise RuntimeError("proxx-engine-broken: libbroken.so.1 not found (deliberately broken test plugin)")
