"""The virtual meters' DLMS port as the Gurux DLMS client (PyPI ``gurux-dlms`` over ``gurux-net``) sees
it: what a lab PC's generic tool does first — SNRM, AARQ, read the Association LN object's
``object_list``, then read a register (value and scaler/unit) — over TCP with HDLC framing.

Gurux is somebody else's implementation of the Green Book, so a server quirk our own driver tolerates
shows up here. Skips only if the packages are missing (they are in the ``dev`` extras).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from labs.virtual import cosem
from labs.virtual.cosem import DoubleLongUnsigned, SimpleCosemModel
from labs.virtual.dlms_server import DlmsServerThread

gurux_dlms = pytest.importorskip("gurux_dlms", reason="gurux-dlms not installed (pip install -e '.[dev]')")
gurux_net = pytest.importorskip("gurux_net", reason="gurux-net not installed (pip install -e '.[dev]')")

from gurux_common import ReceiveParameters  # noqa: E402
from gurux_common.enums import TraceLevel  # noqa: E402,F401
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData  # noqa: E402
from gurux_dlms.enums import Authentication, InterfaceType, ObjectType  # noqa: E402
from gurux_dlms.objects import GXDLMSRegister  # noqa: E402
from gurux_net import GXNet  # noqa: E402
from gurux_net.enums import NetworkType  # noqa: E402

PASSWORD = b"12345678"
ENERGY = "1.0.1.8.0.255"


def _model() -> SimpleCosemModel:
    model = SimpleCosemModel()
    model.add_register(ENERGY, DoubleLongUnsigned(123456), scaler=0, unit=30)
    model.add_data("0.0.96.1.1.255", cosem.VisibleString("loft"), writable=True)
    model.add_disconnect_control("0.0.96.3.10.255")
    return model


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with DlmsServerThread() as lab:
        yield lab.add(_model(), password=PASSWORD, name="gurux-meter")


class GuruxReader:
    """The loop of Gurux's own sample reader (GXDLMSReader.readDLMSPacket / readDataBlock), trimmed."""

    def __init__(self, port: int, client_address: int, password: bytes | None) -> None:
        authentication = Authentication.LOW if password else Authentication.NONE
        self.client = GXDLMSClient(True, client_address, 1, authentication, password, InterfaceType.HDLC)
        self.media = GXNet(NetworkType.TCP, "127.0.0.1", port)
        self.media.open()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.read_block(self.client.releaseRequest())
        with contextlib.suppress(Exception):
            self.packet(self.client.disconnectRequest(), GXReplyData())
        self.media.close()

    def packet(self, data: Any, reply: GXReplyData) -> None:
        if data is None:
            return
        p = ReceiveParameters()
        p.eop = 0x7E
        p.waitTime = 3000
        p.count = 5
        with self.media.getSynchronous():
            self.media.send(data)
            rd = GXByteBuffer()
            while not self.client.getData(rd, reply, None):
                if not self.media.receive(p):
                    raise TimeoutError("no answer from the meter")
                rd.set(p.reply)
                p.reply = None
        if reply.error != 0:
            raise RuntimeError(f"Gurux: error {reply.error}")

    def read_block(self, data: Any) -> GXReplyData:
        reply = GXReplyData()
        for frame in data if isinstance(data, list) else [data]:
            reply.clear()
            self.packet(frame, reply)
            while reply.isMoreData():
                self.packet(self.client.receiverReady(reply), reply)
        return reply

    def associate(self) -> None:
        reply = self.read_block(self.client.snrmRequest())
        self.client.parseUAResponse(reply.data)
        reply = self.read_block(self.client.aarqRequest())
        self.client.parseAareResponse(reply.data)

    def read(self, obj: Any, index: int) -> Any:
        reply = self.read_block(self.client.read(obj, index))
        return self.client.updateValue(obj, index, reply.value)


@contextlib.contextmanager
def gurux(port: int, client_address: int, password: bytes | None) -> Iterator[GuruxReader]:
    reader = GuruxReader(port, client_address, password)
    try:
        reader.associate()
        yield reader
    finally:
        reader.close()


def _object_list(reader: GuruxReader) -> Any:
    reply = reader.read_block(reader.client.getObjectsRequest())
    return reader.client.parseObjects(reply.data, True)


@pytest.mark.parametrize(("client_address", "password"), [(16, None), (1, PASSWORD)])
def test_gurux_reads_the_object_list_and_a_register(
    port: int, client_address: int, password: bytes | None
) -> None:
    with gurux(port, client_address, password) as reader:
        objects = _object_list(reader)
        names = {str(o.logicalName) for o in objects}
        assert {"0.0.40.0.0.255", "0.0.41.0.0.255", ENERGY, "0.0.96.1.1.255", "0.0.96.3.10.255"} <= names
        association = objects.findByLN(ObjectType.ASSOCIATION_LOGICAL_NAME, "0.0.40.0.0.255")
        assert association is not None
        register = objects.findByLN(ObjectType.REGISTER, ENERGY)
        assert isinstance(register, GXDLMSRegister)
        reader.read(register, 3)  # scaler and unit first, as Gurux's sample does
        reader.read(register, 2)
        assert register.value == 123456
        assert register.unit == 30  # Wh
        label = objects.findByLN(ObjectType.DATA, "0.0.96.1.1.255")
        # The access rights Gurux parsed from object_list: read-only for the public client,
        # read-write for the management client (AccessMode.READ = 1, READ_WRITE = 3).
        assert int(label.getAccess(2)) == (1 if client_address == 16 else 3)


def test_gurux_is_refused_a_mechanism_the_association_does_not_use(port: int) -> None:
    reader = GuruxReader(port, 16, PASSWORD)  # LLS on the public client's association
    try:
        reply = reader.read_block(reader.client.snrmRequest())
        reader.client.parseUAResponse(reply.data)
        with pytest.raises(Exception, match=r"(?i)authentication|mechanism|rejected"):
            reply = reader.read_block(reader.client.aarqRequest())
            reader.client.parseAareResponse(reply.data)
    finally:
        reader.media.close()


def test_gurux_reads_a_virtual_lab_meter(virtual_lab: Any) -> None:
    """The ESME of ``dmct lab up labs/virtual.yaml``, whole object list included, as a lab PC reads it."""
    from harness.lab.inventory import load_lab
    from tests.conftest import VIRTUAL_LAB

    running = virtual_lab(VIRTUAL_LAB)
    link = load_lab(VIRTUAL_LAB).rigs[0].device("esme").links["dlms"]  # type: ignore[union-attr]
    port = int(running.endpoint_map()[link.url].rsplit(":", 1)[1])
    with gurux(port, 1, (link.password or "").encode()) as reader:
        objects = _object_list(reader)
        assert len(objects) > 20
        register = objects.findByLN(ObjectType.REGISTER, ENERGY)
        reader.read(register, 3)
        reader.read(register, 2)
        assert isinstance(register.value, int | float) and register.value > 0
        ldn = objects.findByLN(ObjectType.DATA, "0.0.42.0.0.255")
        assert ldn is not None


def test_lab_file_declares_the_associations(virtual_lab: Any, lab_file: Any) -> None:
    """``links.dlms.associations``: here only client 3, with LLS; the default public and management
    clients then have no association (AARE rejected-permanent, no-reason-given)."""
    from harness.lab.inventory import load_lab
    from tests.conftest import esme_of

    def edit(d: dict[str, Any]) -> None:
        esme_of(d)["links"]["dlms"]["associations"] = {3: "lls"}

    path = lab_file(edit)
    running = virtual_lab(path)
    link = load_lab(path).rigs[0].device("esme").links["dlms"]  # type: ignore[union-attr]
    port = int(running.endpoint_map()[link.url].rsplit(":", 1)[1])
    password = (link.password or "").encode()
    with gurux(port, 3, password) as reader:
        assert len(_object_list(reader)) > 20
    for client, secret in ((16, None), (1, password)):
        reader = GuruxReader(port, client, secret)
        try:
            reply = reader.read_block(reader.client.snrmRequest())
            reader.client.parseUAResponse(reply.data)
            with pytest.raises(Exception, match=r"(?i)reject|no.?reason|association"):
                reply = reader.read_block(reader.client.aarqRequest())
                reader.client.parseAareResponse(reply.data)
        finally:
            reader.media.close()
