"""Scale-out: what several gateway processes (workers, instances) share besides the store.

The Redis bus carries ticks and account changes between processes; a lease in the store gives
the feeds one owner in the cluster, with takeover when it dies.
"""
