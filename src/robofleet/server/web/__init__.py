"""The web application: server-rendered pages over the same services the API calls.

Pages are Jinja2 templates (web/templates), enhanced by one small script of our own
(web/static/app.js): confirmations, live updates over Server-Sent Events, uploads with
progress. Every form works without the script where that is natural.
"""
