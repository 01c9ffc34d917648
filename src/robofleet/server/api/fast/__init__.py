"""The lean front: answers the robot path's hot operations without FastAPI's routing and
dependency injection, with the same request models, services and error bodies."""
