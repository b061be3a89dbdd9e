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
from labs.virtual.cosem import AuthLevel, DoubleLongUnsigned, SimpleCosemModel
from labs.virtual.cosem.security import SecurityKeys
from labs.virtual.dlms_server import DlmsServerThread

gurux_dlms = pytest.importorskip("gurux_dlms", reason="gurux-dlms not installed (pip install -e '.[dev]')")
gurux_net = pytest.importorskip("gurux_net", reason="gurux-net not installed (pip install -e '.[dev]')")

from gurux_common import ReceiveParameters  # noqa: E402
from gurux_common.enums import TraceLevel  # noqa: E402,F401
from gurux_dlms import (  # noqa: E402
    GXByteBuffer,
    GXDLMSClient,
    GXDLMSConfirmedServiceError,
    GXDLMSException,
    GXDLMSExceptionResponse,
    GXReplyData,
)
from gurux_dlms.ConfirmedServiceError import ConfirmedServiceError  # noqa: E402
from gurux_dlms.enums import (  # noqa: E402
    ApplicationReference,
    AssociationResult,
    Authentication,
    ExceptionServiceError,
    InterfaceType,
    ObjectType,
    Security,
    SourceDiagnostic,
)
from gurux_dlms.objects import GXDLMSRegister  # noqa: E402
from gurux_dlms.secure import GXDLMSSecureClient  # noqa: E402
from gurux_dlms.ServiceError import ServiceError  # noqa: E402
from gurux_net import GXNet  # noqa: E402
from gurux_net.enums import NetworkType  # noqa: E402

PASSWORD = b"12345678"
ENERGY = "1.0.1.8.0.255"
#: HLS-GMAC (Green Book mechanism 5, security suite 0) on client SAP 48: the Green Book's example keys.
HLS_SAP = 48
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
SERVER_TITLE = b"DMC" + bytes.fromhex("0000000001")
CLIENT_TITLE = b"GRX" + bytes.fromhex("0000000042")


def _model() -> SimpleCosemModel:
    model = SimpleCosemModel()
    model.add_register(ENERGY, DoubleLongUnsigned(123456), scaler=0, unit=30)
    model.add_data("0.0.96.1.1.255", cosem.VisibleString("loft"), writable=True)
    model.add_disconnect_control("0.0.96.3.10.255")
    return model


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with DlmsServerThread() as lab:
        yield lab.add(
            _model(),
            password=PASSWORD,
            name="gurux-meter",
            associations={16: AuthLevel.NONE, 1: AuthLevel.LLS, HLS_SAP: AuthLevel.HLS},
            security=SecurityKeys(AK, EK, SERVER_TITLE),
        )


def hls_client(
    title: bytes = CLIENT_TITLE, ak: bytes = AK, ek: bytes = EK, sap: int = HLS_SAP
) -> GXDLMSSecureClient:
    """Gurux's secure client as a lab PC sets it up for HLS-GMAC: authenticated and encrypted APDUs."""
    client = GXDLMSSecureClient(True, sap, 1, Authentication.HIGH_GMAC, None, InterfaceType.HDLC)
    client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    client.ciphering.systemTitle = bytearray(title)
    client.ciphering.authenticationKey = bytearray(ak)
    client.ciphering.blockCipherKey = bytearray(ek)
    return client


class GuruxReader:
    """The loop of Gurux's own sample reader (GXDLMSReader.readDLMSPacket / readDataBlock), trimmed."""

    def __init__(
        self, port: int, client_address: int, password: bytes | None, client: GXDLMSClient | None = None
    ) -> None:
        authentication = Authentication.LOW if password else Authentication.NONE
        self.client = client or GXDLMSClient(
            True, client_address, 1, authentication, password, InterfaceType.HDLC
        )
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
        if self.client.authentication > Authentication.LOW:  # HLS pass 3 and 4, as Gurux's sample does
            reply = self.read_block(self.client.getApplicationAssociationRequest())
            self.client.parseApplicationAssociationResponse(reply.data)

    def read(self, obj: Any, index: int) -> Any:
        reply = self.read_block(self.client.read(obj, index))
        return self.client.updateValue(obj, index, reply.value)


@contextlib.contextmanager
def gurux(
    port: int, client_address: int, password: bytes | None, client: GXDLMSClient | None = None
) -> Iterator[GuruxReader]:
    reader = GuruxReader(port, client_address, password, client)
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


# -- HLS-GMAC (Green Book: authentication mechanism 5, security suite 0, ciphered APDUs) --------------


def test_gurux_associates_with_hls_gmac_and_reads_ciphered(port: int) -> None:
    """Gurux enciphers the AARQ's InitiateRequest and every request with AES-GCM-128, answers the
    server's challenge (pass 3) and checks the server's f(CtoS) (pass 4): a wrong GMAC on either side
    fails the association in Gurux or here."""
    with gurux(port, HLS_SAP, None, hls_client()) as reader:
        objects = _object_list(reader)
        association = objects.findByLN(ObjectType.ASSOCIATION_LOGICAL_NAME, "0.0.40.0.0.255")
        reader.read(association, 6)  # authentication_mechanism_name: HLS-GMAC
        assert association.authenticationMechanismName.mechanismId == Authentication.HIGH_GMAC
        reader.read(association, 4)  # application_context_name: logical names with ciphering
        assert int(association.applicationContextName.contextId) == 3
        # Security setup (IC 64 v0): authenticated and encrypted, suite 0, both system titles.
        setup = objects.findByLN(ObjectType.SECURITY_SETUP, "0.0.43.0.0.255")
        for attribute in (2, 3, 4, 5):
            reader.read(setup, attribute)
        assert int(setup.securityPolicy) == 3 and int(setup.securitySuite) == 0
        assert bytes(setup.clientSystemTitle) == CLIENT_TITLE
        assert bytes(setup.serverSystemTitle) == SERVER_TITLE
        register = objects.findByLN(ObjectType.REGISTER, ENERGY)
        reader.read(register, 3)
        reader.read(register, 2)
        assert register.value == 123456
        # HLS gives the management rights: the label is writable on this association (glo-set).
        label = objects.findByLN(ObjectType.DATA, "0.0.96.1.1.255")
        assert int(label.getAccess(2)) == 3
        label.value = "hls"
        reader.read_block(reader.client.write(label, 2))
        label.value = None
        reader.read(label, 2)
        assert label.value == "hls"


def _assert_aarq_deciphering_refused(port: int, client: Any) -> None:
    """Associate ``client`` on the HLS SAP: its AARQ must be refused as not deciphering."""
    reader = GuruxReader(port, HLS_SAP, None, client)
    try:
        reader.client.parseUAResponse(reader.read_block(reader.client.snrmRequest()).data)
        with pytest.raises(GXDLMSException) as refused:
            reader.client.parseAareResponse(reader.read_block(reader.client.aarqRequest()).data)
        _assert_deciphering_refused(refused.value)
    finally:
        reader.media.close()


def _assert_deciphering_refused(refused: GXDLMSException) -> None:
    """Gurux reports a rejected AARE as GXDLMSException (result, diagnostic) raised while it parses the
    user-information, which it has read as the xDLMS ConfirmedServiceError the server sent."""
    assert refused.result == AssociationResult.PERMANENT_REJECTED
    assert refused.diagnostic == SourceDiagnostic.NO_REASON_GIVEN
    error = refused.__context__
    assert isinstance(error, GXDLMSConfirmedServiceError), error
    assert error.confirmedServiceError == ConfirmedServiceError.INITIATE_ERROR
    assert error.serviceError == ServiceError.APPLICATION_REFERENCE
    assert error.serviceErrorValue == ApplicationReference.DECIPHERING_ERROR


@pytest.mark.parametrize("wrong", ["encryption_key", "authentication_key"])
def test_gurux_with_a_wrong_key_is_refused(port: int, wrong: str) -> None:
    """A glo-initiateRequest that does not decipher: AARE rejected-permanent with the xDLMS
    ConfirmedServiceError initiateError / application-reference / deciphering-error."""
    bad = bytes(16)
    client = hls_client(
        ak=bad if wrong == "authentication_key" else AK, ek=bad if wrong == "encryption_key" else EK
    )
    _assert_aarq_deciphering_refused(port, client)


def test_gurux_replaying_an_invocation_counter_is_refused(port: int) -> None:
    """The server accepts each invocation counter of a client system title once, increasing, across
    associations: a request sent again with a used counter gets ExceptionResponse invocation-counter-
    error (with the lowest counter it would take), and a new AARQ with a used counter is refused."""
    title = b"GRX" + bytes.fromhex("00000000AA")
    client = hls_client(title=title)
    with gurux(port, HLS_SAP, None, client) as reader:
        register = GXDLMSRegister(ENERGY)
        reader.read(register, 2)
        used = client.ciphering.invocationCounter - 1  # the counter of the read just sent
        client.ciphering.invocationCounter = used
        with pytest.raises(GXDLMSExceptionResponse) as replay:
            reader.read(register, 2)
        assert replay.value.exceptionServiceError == ExceptionServiceError.INVOCATION_COUNTER_ERROR
        assert replay.value.serviceErrorValue == used + 1
        client.ciphering.invocationCounter = used + 1  # fresh again: served
        reader.read(register, 2)
        assert register.value == 123456
    again = hls_client(title=title)  # a client that restarts its counter at 1
    _assert_aarq_deciphering_refused(port, again)


def test_hls_sap_refuses_lls_and_plain_context(port: int) -> None:
    """The HLS association's SAP takes no other mechanism: LLS there is mechanism-name-not-recognised
    (Gurux sends LLS without ciphering: application-context-name-not-supported comes first)."""
    reader = GuruxReader(port, HLS_SAP, PASSWORD)
    try:
        reader.client.parseUAResponse(reader.read_block(reader.client.snrmRequest()).data)
        with pytest.raises(Exception, match=r"(?i)reject|not supported|context|mechanism"):
            reader.client.parseAareResponse(reader.read_block(reader.client.aarqRequest()).data)
    finally:
        reader.media.close()


def test_gurux_answering_the_wrong_challenge_is_not_associated(port: int) -> None:
    """Pass 3 with an f(StoC) that does not verify (here: Gurux answers another challenge than the one
    the server sent): reply_to_HLS_authentication is read-write-denied (3) and the association is not
    established, so the next request is refused."""
    reader = GuruxReader(port, HLS_SAP, None, hls_client(title=b"GRX" + bytes.fromhex("00000000BB")))
    try:
        reader.client.parseUAResponse(reader.read_block(reader.client.snrmRequest()).data)
        reader.client.parseAareResponse(reader.read_block(reader.client.aarqRequest()).data)
        reader.client.settings.stoCChallenge = bytearray(b"not the server's challenge")
        with pytest.raises(RuntimeError, match="error 3"):
            reader.read_block(reader.client.getApplicationAssociationRequest())
        with pytest.raises(GXDLMSExceptionResponse):
            reader.read(GXDLMSRegister(ENERGY), 2)
    finally:
        reader.media.close()


def test_device_model_declares_hls_and_its_readout_timing(virtual_lab: Any, lab_file: Any) -> None:
    """VESME-3P's catalogue entry declares HLS-GMAC on client SAP 48 (beside 16 none and 1 LLS) and its
    optical port's reaction times (350 ms before the identification, 250 ms before the data): a lab
    with that meter and the keys on its link serves both, and the management client's LLS is intact."""
    import socket
    import time

    from harness.lab.inventory import load_lab
    from tests.conftest import esme_of

    def edit(d: dict[str, Any]) -> None:
        esme = {"model": "VESME-3P", "hardware_version": "C", "firmware_version": "2.0.0"}
        d["dmcs"][0]["esme"].update(esme)
        esme_of(d).update(esme)
        esme_of(d)["links"]["dlms"]["hls"] = {
            "authentication_key": AK.hex(),
            "encryption_key": EK.hex(),
            "system_title": SERVER_TITLE.hex(),
        }

    path = lab_file(edit)
    running = virtual_lab(path)
    links = load_lab(path).rigs[0].device("esme").links  # type: ignore[union-attr]
    endpoints = running.endpoint_map()
    port = int(endpoints[links["dlms"].url].rsplit(":", 1)[1])
    with gurux(port, HLS_SAP, None, hls_client()) as reader:
        register = GXDLMSRegister(ENERGY)
        reader.read(register, 3)
        reader.read(register, 2)
        assert isinstance(register.value, int) and register.value > 0
        assert bytes(reader.client.settings.sourceSystemTitle) == SERVER_TITLE
    with gurux(port, 1, (links["dlms"].password or "").encode()) as reader:
        reader.read(GXDLMSRegister(ENERGY), 2)
    host, optical = endpoints[links["optical"].url].removeprefix("socket://").rsplit(":", 1)
    with socket.create_connection((host, int(optical)), timeout=3) as sock:
        started = time.monotonic()
        sock.sendall(b"/?!\r\n")
        ident = b""
        while not ident.endswith(b"\r\n"):
            ident += sock.recv(64)
        identification_s = time.monotonic() - started
        started = time.monotonic()
        sock.sendall(b"\x06050\r\n")
        data = sock.recv(4096)
        data_s = time.monotonic() - started
    assert ident.endswith(b"VESME-3P\r\n") and data.startswith(b"\x02")
    assert 0.35 <= identification_s < 1.5 and 0.25 <= data_s < 1.5


def test_hls_sap_without_keys_in_the_lab_file_refuses_everyone() -> None:
    """A model declaring HLS-GMAC keeps the SAP when the lab file gives no keys: the meter has keys
    nobody here knows, so every AARQ there is refused (deciphering-error), as a real meter's would be;
    the LLS association is unaffected."""
    from types import SimpleNamespace

    from harness.lab.inventory import LinkSpec
    from labs.virtual.devices.catalogue import load_catalogue
    from labs.virtual.process import dlms_security

    behaviour = load_catalogue().model("VESME-3P").behaviour_for("2.0.0")
    device = SimpleNamespace(
        name="rig-1/esme", model=SimpleNamespace(behaviour=behaviour), spec=SimpleNamespace(virtual=None)
    )
    link = LinkSpec(url="virtual://rig-1/esme/dlms", password="00000000")
    associations, keys = dlms_security(device, link)  # type: ignore[arg-type]
    assert associations == {16: AuthLevel.NONE, 1: AuthLevel.LLS, HLS_SAP: AuthLevel.HLS}
    assert keys is not None and keys.system_title[:3] == b"DMC" and keys.encryption_key != EK
    with DlmsServerThread() as lab:
        port = lab.add(_model(), password=b"00000000", associations=associations, security=keys)
        _assert_aarq_deciphering_refused(port, hls_client())
        with gurux(port, 1, b"00000000") as lls:
            lls.read(GXDLMSRegister(ENERGY), 2)
