"""The JSON bodies the API accepts, described in its OpenAPI schema.

:class:`RunRequest` is made from :class:`tsmaker.parameters.RunParameters` itself, with
each field's type and docstring, so that the API takes exactly the keywords of
``make_training_set`` (plus ``like`` and ``accept_changed_inputs``) and cannot drift
from them.
"""

from __future__ import annotations

import ast
import inspect
import typing
from dataclasses import fields
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from tsmaker.parameters import RunParameters


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each attribute of a dataclass, by attribute name.

    Examples
    --------
    >>> field_docs(RunParameters)["n_neighbors"]
    'Nearest objects kept per spec-z.'
    """
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for statement, following in zip(body, body[1:], strict=False):
        if (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[statement.target.id] = " ".join(following.value.value.split())
    return docs


def _run_request_model() -> type[BaseModel]:
    hints = typing.get_type_hints(RunParameters)
    docs = field_docs(RunParameters)
    definitions: dict[str, Any] = {}
    for field in fields(RunParameters):
        definitions[field.name] = (
            hints[field.name] | None, Field(None, description=docs.get(field.name)),
        )
    definitions["like"] = (
        str | int | None,
        Field(None, description="Start from the parameters of this product (id or "
              "NAME_<id>); the values given here replace its values."),
    )
    definitions["accept_changed_inputs"] = (
        bool | None,
        Field(None, description="With `like`: run although a catalog changed since that "
              "product was made (the change is recorded); without it such a run fails, "
              "naming the file and the difference."),
    )
    return create_model(
        "RunRequest", __config__=ConfigDict(extra="forbid"), __doc__=(
            "A run: the keywords of tsmaker.make_training_set. `name`, `redshift_catalog` "
            "and `object_catalog` are required unless `like` gives them; every other "
            "keyword left out takes its default."
        ), **definitions,
    )


RunRequest = _run_request_model()


class ObjectCatalogRequest(BaseModel):
    """An object catalog to register: a HATS catalog or collection, by path or URL."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Name to register.")
    location: str = Field(description="HATS catalog or collection: a path on the server, "
                          "or a URL.")
    profile: str = Field("generic", description="dp1, dp02, lsstcam or generic.")
    description: str = Field("", description="Free text.")
