"""WhatsApp reaches the regions, end to end on the process stack with a stand-in WhatsApp Cloud
API (real HTTP both ways): a text naming a regency is held by that regency's Kantah within two
seconds with nobody classifying it; a location pin lands at the Kantah of the city it is in; a
message naming no place gets list questions at the stand-in, and the citizen's choices place it
at the chosen Kantah; a citizen who does not answer has the complaint placed at the triage desk
once the configured time has passed. The tests talk to the services through gRPC and HTTP only."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, TypeVar

import grpc
import httpx
import pytest
from cloudapi import CloudApiStandIn, list_reply, location, payload, status, text
from e2e.callers import operator_channel
from polling import eventually

from aduan.core.settings import ALL_SERVICES
from aduan.v1 import (
    common_pb2,
    notification_pb2,
    notification_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from aduan_devtools.natsserver import free_port
from aduan_devtools.stack import LocalStack
from aduan_intake.webhook import signature_for

APP_SECRET = "e2e-regions-secret"
ANSWER_SECONDS = 4.0
T = TypeVar("T")


@pytest.fixture(scope="module")
def cloud_api() -> Iterator[CloudApiStandIn]:
    stand_in = CloudApiStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def regions_stack(
    tmp_path_factory: pytest.TempPathFactory, cloud_api: CloudApiStandIn
) -> Iterator[tuple[LocalStack, int]]:
    webhook_port = free_port()
    service_env: dict[str, dict[str, str]] = {name: {} for name in ALL_SERVICES}
    service_env["intake"] = {
        "ADUAN_WEBHOOK_PORT": str(webhook_port),
        "ADUAN_WHATSAPP_APP_SECRET": APP_SECRET,
        "ADUAN_WHATSAPP_VERIFY_TOKEN": "e2e-verify",
        "ADUAN_WHATSAPP_ANSWER_SECONDS": str(ANSWER_SECONDS),
    }
    service_env["routing"] = {"ADUAN_SLA_TICK_SECONDS": "0.5"}
    service_env["notification"] = {
        "ADUAN_NOTIFY_CHANNEL_MODE": "live",
        "ADUAN_WHATSAPP_BASE_URL": cloud_api.base_url,
        "ADUAN_WHATSAPP_TOKEN": cloud_api.token,
        "ADUAN_WHATSAPP_PHONE_NUMBER_ID": "1",
    }
    data_dir = tmp_path_factory.mktemp("regions") / "var"
    with LocalStack.on_free_ports(data_dir, service_env=service_env) as stack:
        yield stack, webhook_port


@pytest.fixture(scope="module")
def query(regions_stack: tuple[LocalStack, int]) -> Iterator[query_pb2_grpc.QueryStub]:
    stack, _ = regions_stack
    channel = operator_channel(stack, stack.services["query"].address)
    yield query_pb2_grpc.QueryStub(channel)
    channel.close()


def post(port: int, body: dict[str, Any]) -> dict[str, Any]:
    """One webhook delivery as Meta makes it: signed JSON over HTTP."""
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(raw, APP_SECRET),
    }
    deadline = time.monotonic() + 20
    while True:  # the webhook listener comes up with the service
        try:
            response = httpx.post(
                f"http://127.0.0.1:{port}/webhook/whatsapp", content=raw, headers=headers
            )
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return dict(result)


def holder(query: query_pb2_grpc.QueryStub, complaint_id: str) -> str | None:
    """The office holding the complaint per the query service, None while nobody holds it."""
    try:
        view = query.GetComplaint(query_pb2.GetComplaintRequest(complaint_id=complaint_id))
    except grpc.RpcError as error:
        if error.code() is grpc.StatusCode.NOT_FOUND:
            return None  # not projected yet
        raise
    return view.complaint.holding_office.code or None


def lists_to(cloud_api: CloudApiStandIn, wa_id: str, seen: int) -> dict[str, Any] | None:
    """The next interactive list message sent to `wa_id` after the first `seen`."""
    lists = [m for m in cloud_api.sent_to(wa_id) if m.get("type") == "interactive"]
    return lists[seen] if len(lists) > seen else None


def rows(message: dict[str, Any]) -> dict[str, str]:
    """Row title -> row id of a list message."""
    sections = message["interactive"]["action"]["sections"]
    return {row["title"]: row["id"] for section in sections for row in section["rows"]}


def test_a_text_naming_a_regency_is_held_by_its_kantah_within_two_seconds(
    regions_stack: tuple[LocalStack, int], query: query_pb2_grpc.QueryStub
) -> None:
    _, port = regions_stack
    warm = "6281200000000"
    post(port, payload(text("halo min", sender=warm), sender=warm))  # warm the path
    started = time.monotonic()
    filed = post(
        port,
        payload(
            text("sertifikat tanah saya di Kota Bandung belum selesai", sender="6281200000001"),
            sender="6281200000001",
        ),
    )
    office = eventually(lambda: holder(query, filed["complaint_id"]), 10, "placement")
    elapsed = time.monotonic() - started
    assert office == "KANTAH.32.73"
    assert elapsed < 2.0, f"held by {office} after {elapsed:.2f} s"


def test_a_location_pin_inside_a_city_is_held_by_that_citys_kantah(
    regions_stack: tuple[LocalStack, int],
    query: query_pb2_grpc.QueryStub,
    cloud_api: CloudApiStandIn,
) -> None:
    _, port = regions_stack
    sender = "6281200000002"
    # Near the Losari waterfront, Kota Makassar.
    filed = post(port, payload(location(-5.1430, 119.4075, sender=sender), sender=sender))
    # The pin says where, not what: the category is asked.
    question = eventually(lambda: lists_to(cloud_api, sender, 0), 10, "the category question")
    post(
        port,
        payload(list_reply(rows(question)["Layanan pertanahan"], sender=sender), sender=sender),
    )
    office = eventually(lambda: holder(query, filed["complaint_id"]), 10, "placement")
    assert office == "KANTAH.73.71"


def test_a_message_naming_no_place_is_placed_by_the_citizens_answers(
    regions_stack: tuple[LocalStack, int],
    query: query_pb2_grpc.QueryStub,
    cloud_api: CloudApiStandIn,
) -> None:
    _, port = regions_stack
    sender = "6281200000003"
    filed = post(
        port, payload(text("urusan tanah saya dipersulit terus", sender=sender), sender=sender)
    )
    asked = 0

    def answer(title: str) -> None:
        nonlocal asked
        question = eventually(lambda: lists_to(cloud_api, sender, asked), 10, f"a list for {title}")
        asked += 1
        choices = rows(question)
        assert len(choices) <= 10
        post(port, payload(list_reply(choices[title], title, sender=sender), sender=sender))

    answer("Jawa Barat")
    assert holder(query, filed["complaint_id"]) is None  # nobody holds it while it is asked
    answer("Berikutnya »")  # Jawa Barat has more regencies than one list shows
    answer("Kota Depok")
    answer("Sengketa tanah")
    office = eventually(lambda: holder(query, filed["complaint_id"]), 10, "placement")
    assert office == "KANTAH.32.76"


def test_no_answer_sends_the_complaint_to_triage_after_the_configured_time(
    regions_stack: tuple[LocalStack, int],
    query: query_pb2_grpc.QueryStub,
    cloud_api: CloudApiStandIn,
) -> None:
    _, port = regions_stack
    sender = "6281200000004"
    started = time.monotonic()
    filed = post(
        port, payload(text("tolong dibantu min masalah saya", sender=sender), sender=sender)
    )
    eventually(lambda: lists_to(cloud_api, sender, 0), 10, "the province question")
    assert holder(query, filed["complaint_id"]) is None
    office = eventually(lambda: holder(query, filed["complaint_id"]), 30, "triage")
    assert office == "PUSAT.IP3"
    assert time.monotonic() - started >= ANSWER_SECONDS


@pytest.fixture(scope="module")
def routing(regions_stack: tuple[LocalStack, int]) -> Iterator[routing_pb2_grpc.RoutingStub]:
    stack, _ = regions_stack
    channel = operator_channel(stack, stack.services["routing"].address)
    yield routing_pb2_grpc.RoutingStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def notification(
    regions_stack: tuple[LocalStack, int],
) -> Iterator[notification_pb2_grpc.NotificationStub]:
    stack, _ = regions_stack
    channel = operator_channel(stack, stack.services["notification"].address)
    yield notification_pb2_grpc.NotificationStub(channel)
    channel.close()


def view(query: query_pb2_grpc.QueryStub, complaint_id: str) -> query_pb2.ComplaintView:
    return query.GetComplaint(query_pb2.GetComplaintRequest(complaint_id=complaint_id)).complaint


def deliveries(
    notification: notification_pb2_grpc.NotificationStub, complaint_id: str
) -> list[notification_pb2.Delivery]:
    request = notification_pb2.ListDeliveriesRequest(complaint_id=complaint_id)
    return list(notification.ListDeliveries(request).deliveries)


def test_a_rating_after_resolution_does_not_reopen_and_a_follow_up_does_and_tells_the_office(
    regions_stack: tuple[LocalStack, int],
    query: query_pb2_grpc.QueryStub,
    routing: routing_pb2_grpc.RoutingStub,
    notification: notification_pb2_grpc.NotificationStub,
) -> None:
    _, port = regions_stack
    sender = "6281200000005"
    filed = post(
        port,
        payload(
            text("sertipikat tanah saya di Kota Bandung belum jadi", sender=sender), sender=sender
        ),
    )
    complaint_id = filed["complaint_id"]
    eventually(lambda: holder(query, complaint_id), 10, "placement")
    routing.AcceptCase(routing_pb2.AcceptCaseRequest(complaint_id=complaint_id))
    routing.ResolveCase(
        routing_pb2.ResolveCaseRequest(
            complaint_id=complaint_id, summary="Sertipikat sudah terbit."
        )
    )
    resolved = common_pb2.COMPLAINT_STATUS_RESOLVED
    eventually(lambda: view(query, complaint_id).status == resolved or None, 10, "resolution")
    time.sleep(1.0)  # intake learns the resolution from routing's events too

    rated = post(port, payload(text("5", sender=sender), sender=sender))
    assert (rated["action"], rated["complaint_id"]) == ("rated", complaint_id)
    eventually(lambda: view(query, complaint_id).rating == 5 or None, 10, "the rating")
    assert view(query, complaint_id).status == resolved  # not reopened

    follow = post(
        port, payload(text("tapi namanya salah, mohon diperbaiki", sender=sender), sender=sender)
    )
    assert (follow["action"], follow["complaint_id"]) == ("follow_up", complaint_id)
    reopened = common_pb2.COMPLAINT_STATUS_IN_PROGRESS
    eventually(lambda: view(query, complaint_id).status == reopened or None, 10, "reopening")

    def office_told() -> notification_pb2.Delivery | None:
        return next(
            (
                d
                for d in deliveries(notification, complaint_id)
                if d.template == "office_case_reopened"
            ),
            None,
        )

    told = eventually(office_told, 10, "the office to be told")
    assert told.recipient == "KANTAH.32.73"


def test_a_delivered_status_from_whatsapp_updates_the_delivery(
    regions_stack: tuple[LocalStack, int],
    cloud_api: CloudApiStandIn,
    notification: notification_pb2_grpc.NotificationStub,
) -> None:
    _, port = regions_stack
    sender = "6281200000006"
    filed = post(port, payload(text("tolong bantu min masalah saya", sender=sender), sender=sender))
    question = eventually(lambda: lists_to(cloud_api, sender, 0), 10, "the province question")
    raw = json.dumps(
        payload(
            statuses=[
                status(question["wamid"], "delivered", question["biz_opaque_callback_data"]),
                status(question["wamid"], "read", question["biz_opaque_callback_data"]),
            ]
        )
    ).encode()
    response = httpx.post(
        f"http://127.0.0.1:{port}/webhook/whatsapp",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_for(raw, APP_SECRET),
        },
    )
    assert response.status_code == 200, response.text
    assert [s["action"] for s in response.json()["statuses"]] == ["recorded", "recorded"]
    [asked] = [
        d for d in deliveries(notification, filed["complaint_id"]) if d.template == "ask_location"
    ]
    assert asked.status == notification_pb2.DELIVERY_STATUS_READ
    assert asked.HasField("delivered_at")
    assert asked.HasField("read_at")
