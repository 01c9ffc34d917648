"""Use cases. Each public function checks the caller's rights and runs one transaction."""
