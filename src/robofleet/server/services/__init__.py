"""Use cases, grouped in wings: access, jobs, tasks, fleet, processes (logs is one small
module; new tabs get wings of their own). Each public function takes the runtime first, then
the caller (if any), then the request data; it checks the caller's rights and runs one
transaction, naming its audit actor."""
