from robofleet.cli.main import app

app()
