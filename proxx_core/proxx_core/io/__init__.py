"""File-system primitives: atomic writes, temp claims, the write gate, safe opens, the clock, binary
fingerprints. On the contract's floor (they raise its errors); nothing above (docs/architecture.md).
"""
