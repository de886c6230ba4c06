"""Job queues: SAQ (issue 4) and the inline in-process queue of the embedded default."""
