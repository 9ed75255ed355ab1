"""How `mmtrial serve` and `mmtrial demo` serve the web interface.

- Production path (the default): gunicorn, pre-forking several worker processes over the mmtrial
  WSGI application (`mmtrial.wsgi`). One Python process can use one core at a time (the GIL), so
  concurrent users need several processes; Django's development server is one process.
- Development path (`--dev`): Django's threaded runserver, as before.

Both serve the static files themselves (see mmtrial.web.urls), so no separate web server is
needed on a single machine.
"""

from __future__ import annotations

import os
import socket

import typer

from mmtrial.commands._io import fail

# More workers than this only adds memory and database connections on the machines the sites use.
MAX_DEFAULT_WORKERS = 8


def default_workers(*, cpu_count: int | None) -> int:
    """gunicorn's usual rule, 2 x cores + 1 (a worker waiting on the database leaves its core to
    another), capped at MAX_DEFAULT_WORKERS."""
    return min(2 * (cpu_count or 1) + 1, MAX_DEFAULT_WORKERS)


def check_serve_options(*, host: str, port: int, workers: int | None, threads: int) -> None:
    """Refuse bad options with one line (exit 2) before anything starts."""
    if workers is not None and workers < 1:
        fail(f"--workers: must be at least 1, got {workers}")
    if threads < 1:
        fail(f"--threads: must be at least 1, got {threads}")
    if not 0 < port < 65536:
        fail(f"--port: must be between 1 and 65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        fail(f"--host: cannot resolve {host!r}")
    family, _type, _proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            fail(f"--port: cannot listen on {host}:{port} ({exc.strerror})")


def serve(*, host: str, port: int, workers: int | None, threads: int, dev: bool) -> None:
    """Print the URL line, then serve until Ctrl-C (or SIGTERM). Django is set up already."""
    from django.db import connections

    # The database connection used to migrate or seed must not be shared with forked workers.
    connections.close_all()
    label = "development server" if dev else "gunicorn"
    typer.echo(f"mmtrial is running: open http://{host}:{port}/  ({label}; Ctrl-C to stop)")
    if dev:
        from django.core.management import call_command

        call_command("runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True)
        return
    count = workers or default_workers(cpu_count=os.cpu_count())
    _gunicorn_application(
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": count,
            "threads": threads,
            # Threads > 1 need gunicorn's threaded worker; one thread is its plain sync worker.
            "worker_class": "gthread" if threads > 1 else "sync",
            # Load Django once in the master: import errors stop the start, workers fork fast.
            "preload_app": True,
            # Several servers (demo, tests, benchmarks) may run at once: no shared control socket.
            "control_socket_disable": True,
            "proc_name": "mmtrial",
        }
    ).run()


def _gunicorn_application(options: dict):
    from gunicorn.app.base import BaseApplication

    class MmtrialApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from mmtrial.wsgi import application

            return application

    return MmtrialApplication()
