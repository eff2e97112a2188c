"""The rules every step and feature applies: output names (naming) and the relink checks of every
output (verify). Below the features, which build on them (docs/architecture.md).
"""
