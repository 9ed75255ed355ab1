"""`mmtrial serve`, `mmtrial demo` and `mmtrial manage`: the web server and Django's commands.

`manage` refuses the Django commands that write around the audit trail (createsuperuser,
backwards migrations, ...); `serve` and `demo` check the audit trail before serving
(commands._guard).
"""

from __future__ import annotations

import os

import typer

from mmtrial.commands._guard import check_before_serving, check_manage

WORKERS_HELP = "Worker processes (default: 2 x CPU cores + 1, at most 8)."
THREADS_HELP = "Threads per worker process."
DEV_HELP = "Use Django's single-process development server instead of gunicorn."


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmtrial.settings")
    import django

    django.setup()


def register(root: typer.Typer) -> None:
    @root.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, help="Port to listen on."),
        workers: int | None = typer.Option(None, help=WORKERS_HELP),
        threads: int = typer.Option(1, help=THREADS_HELP),
        dev: bool = typer.Option(False, "--dev", help=DEV_HELP),
        migrate: bool = typer.Option(True, help="Apply database migrations first."),
    ) -> None:
        """Serve the web interface with gunicorn (migrating the database first); print the URL."""
        from mmtrial.commands import _serving

        _serving.check_serve_options(host=host, port=port, workers=workers, threads=threads)
        _django()
        from django.core.management import call_command

        if migrate:
            call_command("migrate", interactive=False, verbosity=0)
        check_before_serving()
        _serving.serve(host=host, port=port, workers=workers, threads=threads, dev=dev)

    @root.command(
        "manage",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def manage(ctx: typer.Context) -> None:
        """Run a Django management command, e.g. `mmtrial manage migrate`."""
        _django()
        from django.core.management import execute_from_command_line

        check_manage(list(ctx.args))
        execute_from_command_line(["mmtrial manage", *ctx.args])

    @root.command("demo")
    def demo(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, help="Port to listen on."),
        workers: int | None = typer.Option(None, help=WORKERS_HELP),
        threads: int = typer.Option(1, help=THREADS_HELP),
        dev: bool = typer.Option(False, "--dev", help=DEV_HELP),
    ) -> None:
        """Prepare the demo study database and serve it (what `make demo` runs)."""
        from mmtrial.commands import _serving

        _serving.check_serve_options(host=host, port=port, workers=workers, threads=threads)
        _django()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        seed = _demo_seeder()
        if seed is not None:
            seed()
        check_before_serving()
        _serving.serve(host=host, port=port, workers=workers, threads=threads, dev=dev)


def _demo_seeder():
    """The demo study seeder, once the simulated cohort exists (mmtrial.sim)."""
    try:
        from mmtrial.sim.demo import seed_demo_study
    except ImportError:
        return None
    from mmtrial.protocol import load_protocol

    protocol = load_protocol()
    if protocol.randomized:  # the deployment runs a randomized study: its own simulation
        from mmtrial.sim.randomized import seed_randomized_study

        return lambda: seed_randomized_study(protocol=protocol)
    return seed_demo_study
