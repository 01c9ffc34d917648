"""Request and response shapes shared by the API and the services (pydantic, no HTTP)."""
