"""The buyer-message inbox: relay mail, threads, SLA clocks, alerts, assignment, replies."""
