"""What an option adds to a cost table: memory and liveness, predicted latency, the three-way check. Each is a function from a table to an attachment."""
