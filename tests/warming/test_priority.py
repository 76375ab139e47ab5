"""Priorities mean the same on Redis and RabbitMQ: 9 is the most urgent and jumps the queue."""

from __future__ import annotations

import pytest

from perfkit.warming import registry, warm, warmer
from perfkit.warming.tasks import dispatch
from tests.warming import cachedfuncs
from tests.warming.conftest import QUEUE, queued, running_worker

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def _urgent_runs_first(app, records) -> None:
    warmer(cachedfuncs.square, name="t.low", args=lambda: range(50), chunk_size=1, priority=0)
    warmer(cachedfuncs.urgent, name="t.urgent", args=lambda: [7], priority=9)
    # the worker is stopped: fifty priority-0 chunks, then one priority-9 warm
    assert dispatch(app, registry["t.low"], priority=0) == 50
    result = warm("t.urgent")
    assert queued(app) == 51
    # one thread, prefetch 1 (the solo pool stalls for seconds between messages on py-amqp)
    with running_worker(app, pool="threads"):
        assert result.get(timeout=60)["stored"] == 1
        records.wait_for(lambda: len(records.recorded()) >= 51, timeout=60)
    order = [c.split(":")[0] for c in records.recorded()]
    assert len(order) == 51
    assert order[0] == "urgent", order[:5]


@pytest.mark.redis
def test_urgent_warm_overtakes_fifty_queued_chunks_on_redis(celery_app, records):
    _urgent_runs_first(celery_app, records)


@pytest.mark.redis
@pytest.mark.rabbitmq
def test_urgent_warm_overtakes_fifty_queued_chunks_on_rabbitmq(rabbitmq_app, records):
    _urgent_runs_first(rabbitmq_app, records)


def test_priority_maps_onto_each_broker_scale(celery_app, rabbitmq_app):
    from perfkit.warming.celery import broker_priority

    # kombu's Redis transport: 0 is the most urgent bucket; RabbitMQ: 9 is
    assert [broker_priority(celery_app, p) for p in (0, 5, 9)] == [9, 4, 0]
    assert [broker_priority(rabbitmq_app, p) for p in (0, 5, 9)] == [0, 5, 9]
    assert rabbitmq_app.conf.task_routes == {"perfkit.*": {"queue": QUEUE}}
    assert rabbitmq_app.amqp.queues[QUEUE].queue_arguments == {"x-max-priority": 9}
