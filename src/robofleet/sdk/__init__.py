"""What a job script imports to talk to Robofleet from inside a job."""
