"""The gateway: the shop's public HTTP/JSON API and the checkout orchestration, served by gunicorn."""
