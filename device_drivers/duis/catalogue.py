"""Which DUIS body, endpoint and Command Variant each Service Request Variant takes.

Data from the DUIS XSD (the ``sr:Request/Body`` choice: one element per SRV) and the DUIS SRV matrix
(critical, future-dating pattern, non-device). The 58 SRVs the standard packs use: 57 SMETS1-applicable
and 6.15.2, which the packs send to see it refused (SMETS1 devices hold no device certificates); a lab
adds a row here (data, not logic) when a pack uses another.

Endpoints (DCC Boxed): ``/api/v1/serviceS`` sends a command to a device (Command Variant 1: on-demand
or future-dated, answered asynchronously), ``/api/v1/serviceD`` a non-device request the DSP answers
itself (Command Variant 8), ``/api/v1/serviceT`` transforms a critical request into a GBCS pre-command
(Command Variant 4; not used for SMETS1 here, see docs/protocols/duis.md).
"""

from __future__ import annotations

from dataclasses import dataclass

SEND_COMMAND = "/api/v1/serviceS"
NON_DEVICE = "/api/v1/serviceD"
TRANSFORM = "/api/v1/serviceT"

#: Command Variants (DUIS ``sr:CommandVariant``): 1 SR -> command, async; 8 SR answered by the DCC, sync.
CV_COMMAND = 1
CV_DCC_ONLY = 8


@dataclass(frozen=True)
class SrvEntry:
    srv: str
    element: str  # the sr:Body child
    critical: bool
    future_dating: str  # none | device | dsp | dsp_and_device
    non_device: bool = False
    #: Applicable to SMETS1 devices (DUIS SRV matrix); 6.15.2 is not (they hold no device certificates).
    smets1: bool = True

    @property
    def service_reference(self) -> str:
        """The Service Reference (``4.1``) of a Service Reference Variant (``4.1.1``)."""
        return ".".join(self.srv.split(".")[:2])

    @property
    def endpoint(self) -> str:
        return NON_DEVICE if self.non_device else SEND_COMMAND

    @property
    def command_variant(self) -> int:
        return CV_DCC_ONLY if self.non_device else CV_COMMAND


def _e(
    srv: str, element: str, critical: bool, fd: str = "none", non_device: bool = False, smets1: bool = True
) -> SrvEntry:
    return SrvEntry(srv, element, critical, fd, non_device, smets1)


SRVS: dict[str, SrvEntry] = {
    e.srv: e
    for e in (
        _e("1.1.1", "UpdateImportTariffPrimaryElement", True, "device"),
        _e("1.2.1", "UpdatePricePrimaryElement", True, "device"),
        _e("1.5", "UpdateMeterBalance", True),
        _e("1.6", "UpdatePaymentMode", True, "device"),
        _e("2.1", "UpdatePrepayConfiguration", True, "device"),
        _e("2.2", "TopUpDevice", False),
        _e("2.3", "UpdateDebt", True),
        _e("2.5", "ActivateEmergencyCredit", True),
        _e("3.1", "DisplayMessage", False, "dsp"),
        _e("3.2", "RestrictAccessForChangeOfTenancy", False, "dsp"),
        _e("3.4", "UpdateSupplierName", False, "dsp"),
        _e("4.1.1", "ReadInstantaneousImportRegisters", False, "dsp"),
        _e("4.1.2", "ReadInstantaneousImportTOUMatrices", False, "dsp"),
        _e("4.3", "ReadInstantaneousPrepayValues", False, "dsp"),
        _e("4.4.2", "RetrieveCoMOrTariffTriggeredBillingDataLog", False, "dsp"),
        _e("4.6.1", "RetrieveImportDailyReadLog", False, "dsp"),
        _e("4.8.1", "ReadActiveImportProfileData", False, "dsp"),
        _e("4.11.1", "ReadTariffPrimaryElement", False),
        _e("4.13", "ReadPrepaymentConfiguration", False, "dsp"),
        _e("4.18", "ReadMeterBalance", False, "dsp"),
        _e("5.1", "CreateSchedule", False, non_device=True),
        _e("5.2", "ReadSchedule", False, non_device=True),
        _e("5.3", "DeleteSchedule", False, non_device=True),
        _e("6.2.1", "ReadDeviceConfigurationVoltage", False),
        _e("6.2.2", "ReadDeviceConfigurationRandomisation", False),
        _e("6.2.3", "ReadDeviceConfigurationBillingCalendar", False),
        _e("6.2.4", "ReadDeviceConfigurationIdentityExcMPxN", False),
        _e("6.2.5", "ReadDeviceConfigurationInstantaneousPowerThresholds", False),
        _e("6.2.7", "ReadDeviceConfigurationMPxN", False),
        _e("6.2.8", "ReadDeviceConfigurationGas", False),
        _e("6.2.9", "ReadDeviceConfigurationPaymentMode", False),
        _e("6.2.10", "ReadDeviceConfigurationEventAndAlertBehaviours", False),
        _e("6.4.1", "UpdateDeviceConfigurationLoadLimitingGeneralSettings", True, "device"),
        _e("6.4.2", "UpdateDeviceConfigurationLoadLimitingCounterReset", False, "dsp"),
        _e("6.8", "UpdateDeviceConfigurationBillingCalendar", True),
        _e("6.11", "SynchroniseClock", True),
        _e("6.13", "ReadEventOrSecurityLog", False),
        _e("6.15.1", "UpdateSecurityCredentialsKRP", True, "device"),
        _e("6.15.2", "UpdateSecurityCredentialsDevice", True, smets1=False),  # the negative tests send it
        _e("6.20.1", "SetDeviceConfigurationImportMPxN", False, "dsp"),
        _e("6.22", "ConfigureAlertBehaviour", False),
        _e("6.23", "UpdateSecurityCredentialsCoS", False, "dsp_and_device"),
        _e("6.24.1", "RetrieveDeviceSecurityCredentialsKRP", False),
        _e("6.25", "SetElectricitySupplyTamperState", True),
        _e("7.1", "EnableSupply", True),
        _e("7.2", "DisableSupply", True),
        _e("7.3", "ArmSupply", True),
        _e("7.4", "ReadSupplyStatus", False),
        _e("8.2", "ReadInventory", False, non_device=True),
        _e("8.3", "DecommissionDevice", False, non_device=True),
        _e("8.4", "UpdateInventory", False, non_device=True),
        _e("8.7.2", "JoinServiceNonCritical", False),
        _e("8.8.2", "UnjoinServiceNonCritical", False),
        _e("8.9", "ReadDeviceLog", False, "dsp"),
        _e("8.11", "UpdateHANDeviceLog", False, "dsp"),
        _e("11.1", "UpdateFirmware", False, non_device=True),
        _e("11.2", "ReadFirmwareVersion", False, "dsp"),
        _e("11.3", "ActivateFirmware", True, "device"),
    )
}


class UnknownSrv(KeyError):
    """The codec has no DUIS body for this SRV."""


def entry(srv: str) -> SrvEntry:
    try:
        return SRVS[srv]
    except KeyError:
        raise UnknownSrv(f"no DUIS body known for SRV {srv!r} (known: {len(SRVS)} SRVs)") from None


def srv_of_element(element: str) -> str | None:
    """The SRV whose request body is ``element`` (local name), if the catalogue knows it."""
    return next((e.srv for e in SRVS.values() if e.element == element), None)
