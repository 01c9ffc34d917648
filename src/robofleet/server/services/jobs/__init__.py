"""Jobs: CRUD, the guarded status function, read shapes, the robot protocol, liveness rules
and the Roboteasy integration over jobs."""
