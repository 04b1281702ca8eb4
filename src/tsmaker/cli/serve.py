"""``tsmaker serve``: the web page and the HTTP API over this registry.

Every web import happens inside the command, so ``tsmaker --help`` stays instant.
"""

from typing import Annotated

import typer

from tsmaker import settings
from tsmaker.cli.app import app


@app.command()
def serve(
    host: Annotated[str, typer.Option(
        help="Address to listen on. Any other than the loopback (127.0.0.1, localhost, ::1) "
        "needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).",
                                      min=0, max=65535)] = 8000,
    jobs: Annotated[int, typer.Option(help="Runs executed at once; the others wait, queued.",
                                      min=1)] = 1,
    token: Annotated[str | None, typer.Option(
        envvar=settings.ENV_TOKEN, show_envvar=True,
        help="Token every page and API call must give (at least 12 characters).")] = None,
    generate_token: Annotated[bool, typer.Option(
        "--generate-token", help="Make a token and print it once, in the address to open.")
    ] = False,
    max_upload_mb: Annotated[float, typer.Option(
        help="Largest catalog upload, MiB.", min=0.001)] = 512,
) -> None:
    """Serve the web page and the HTTP API (docs at /docs) over the same registry."""
    from tsmaker.cli.render import message
    from tsmaker.web.config import ServerConfig
    from tsmaker.web.server import choose_token
    from tsmaker.web.server import serve as run_server

    chosen, generated = choose_token(host, token, generate_token)
    config = ServerConfig(host=host, port=port, jobs=jobs, token=chosen,
                          max_upload_bytes=int(max_upload_mb * 2**20))
    run_server(config, generated_token=generated, announce=message)
