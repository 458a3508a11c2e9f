"""Imported by the multiprocessing forkserver when it starts (set_forkserver_preload): the forkserver then
ends with the process that started it, and so, through their own parent-death signal, do the pool workers
it forked (they hold its liveness pipe, so it would otherwise outlive a killed run as long as they do)."""

from mmdlm.executor.deathsig import die_with_parent

die_with_parent()
