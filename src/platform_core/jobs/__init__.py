"""Jobs: the recorded runs of queued work (orders, shipments, automation, retarget queues)."""
