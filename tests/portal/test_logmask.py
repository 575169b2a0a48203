"""Console tickets never reach the logs: the filter masks them in messages and in arguments (how uvicorn
logs request paths), and the logging configuration puts it on the handler every logger writes through."""

from __future__ import annotations

import logging

from portal.logmask import MASK, MaskSecrets, mask


def test_tokens_in_query_strings_are_masked():
    assert mask("GET /vms/1/console/?token=abc-DEF_123 HTTP/1.1") == f"GET /vms/1/console/?token={MASK} HTTP/1.1"
    assert mask("/ws/console/?a=1&token=xyz&b=2") == f"/ws/console/?a=1&token={MASK}&b=2"
    assert mask("/client/api?command=x&sessionkey=s3cr3t") == f"/client/api?command=x&sessionkey={MASK}"
    assert mask("nothing to hide: mytoken=fine") == "nothing to hide: mytoken=fine"


def test_the_filter_masks_uvicorn_style_arguments():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/ws/console/?token=SECRET1", "1.1", 101), None)
    assert MaskSecrets().filter(record) is True
    assert "SECRET1" not in record.getMessage() and MASK in record.getMessage()


def handlers_reached(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record logged on `logger` reaches, following propagation as logging does."""
    found: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        # pytest's own capturing handlers are not part of the portal's configuration.
        found.extend(h for h in current.handlers if not type(h).__module__.startswith("_pytest"))
        current = current.parent if current.propagate else None
    return found


def test_every_handler_and_uvicorns_loggers_go_through_the_filter():
    for name in ("uvicorn.access", "uvicorn.error", "compute.consumers", "django.request"):
        handlers = handlers_reached(logging.getLogger(name))
        assert handlers, name
        assert all(any(isinstance(f, MaskSecrets) for f in handler.filters) for handler in handlers), name
