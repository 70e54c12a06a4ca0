"""Ray execution: resource-tagged queues, the Dispatcher, worker pools, job store, progress."""
