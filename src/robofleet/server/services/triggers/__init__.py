"""Triggers (Sherpa's schedules): their CRUD, the rules that turn a fire into a job, and the
conditions (schedule, queue, e-mail) that fire them. The top service wing: it creates jobs."""
