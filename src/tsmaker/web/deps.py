"""What routes receive from the server: the registry (opened per request) and the jobs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from tsmaker.registry import Registry
from tsmaker.web.config import ServerConfig
from tsmaker.web.jobs import JobManager


def open_registry(request: Request) -> Iterator[Registry]:
    """The registry, opened for one request (a dependency of every route that needs it)."""
    registry = Registry(request.app.state.config.registry_path)
    try:
        yield registry
    finally:
        registry.close()


def job_manager(request: Request) -> JobManager:
    """The server's job manager."""
    manager: JobManager = request.app.state.jobs
    return manager


def server_config(request: Request) -> ServerConfig:
    """The server's settings."""
    config: ServerConfig = request.app.state.config
    return config


RegistryDependency = Annotated[Registry, Depends(open_registry)]
JobsDependency = Annotated[JobManager, Depends(job_manager)]
ConfigDependency = Annotated[ServerConfig, Depends(server_config)]
