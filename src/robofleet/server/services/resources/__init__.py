"""Resources (Sherpa's assets): credentials, text values and calendars, scoped to all
robots, a robot group or one robot; resource groups; encryption-key rotation."""
