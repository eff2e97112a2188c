"""Proxx delivery sinks (JobSpec 1.1 ``deliverables``): each module is its own ``proxx`` plugin."""
