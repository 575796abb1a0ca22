"""The embedded farm's broker: kombu's SQLAlchemy transport, polled often.

kombu hands every transport option to `create_engine`, so `polling_interval` cannot go
through `broker_transport_options`; a subclass sets it instead. 0.1 s keeps the wait for
a queued run far below a benchmark's own duration.
"""

from __future__ import annotations

from kombu.transport.sqlalchemy import Transport as SQLAlchemyTransport


class Transport(SQLAlchemyTransport):
    polling_interval = 0.1
