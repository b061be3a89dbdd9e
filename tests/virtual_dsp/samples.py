"""A schema-valid DUIS body per SMETS1 SRV of the virtual S1SP, written from the DUIS XSD (sr prefix),
and the S1SP params the virtual DSP must read from it (``None``: only checked against the S1SP model)."""

from __future__ import annotations

from typing import Any

CERT = "MIIB"  # any base64 (the virtual S1SP does not parse certificates)
RANGE = (
    "<sr:ReadLogPeriod><sr:StartDateTime>2026-01-01T00:00:00Z</sr:StartDateTime>"
    "<sr:EndDateTime>2026-01-05T00:00:00Z</sr:EndDateTime></sr:ReadLogPeriod>"
)
RANGE_PARAMS = {"from": "2026-01-01T00:00:00+00:00", "to": "2026-01-05T00:00:00+00:00"}
ELEC_PRICES = (
    "<sr:PriceElements><sr:ElectricityPriceElements><sr:StandingCharge>5000</sr:StandingCharge>"
    "<sr:StandingChargeScale>-2</sr:StandingChargeScale><sr:PriceScale>-1</sr:PriceScale>"
    '<sr:TOUTariff><sr:TOUPrice index="1">155</sr:TOUPrice>'
    '<sr:TOUPrice index="2">90</sr:TOUPrice></sr:TOUTariff>'
    "</sr:ElectricityPriceElements></sr:PriceElements>"
)
DATE = (
    "<sr:Year><sr:SpecifiedYear>2026</sr:SpecifiedYear></sr:Year><sr:Month><sr:SpecifiedMonth>1</sr:SpecifiedMonth>"
    "</sr:Month><sr:DayOfMonth><sr:SpecifiedDayOfMonth>1</sr:SpecifiedDayOfMonth></sr:DayOfMonth>"
    "<sr:DayOfWeek><sr:NonSpecifiedDayOfWeek/></sr:DayOfWeek>"
)

#: SRV -> (body XML, expected params or None).
SAMPLES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "1.2.1": (
        f"<sr:UpdatePricePrimaryElement>{ELEC_PRICES}</sr:UpdatePricePrimaryElement>",
        {"standing_charge": 50.0, "prices": [15.5, 9.0]},
    ),
    "1.5": (
        "<sr:UpdateMeterBalance><sr:PrepaymentMode><sr:AdjustMeterBalance>30000</sr:AdjustMeterBalance>"
        "</sr:PrepaymentMode></sr:UpdateMeterBalance>",
        {"delta": 300.0},
    ),
    "1.6": ("<sr:UpdatePaymentMode><sr:Credit/></sr:UpdatePaymentMode>", {"mode": "credit"}),
    "2.2": (
        "<sr:TopUpDevice><sr:UTRN>12345678901234567890</sr:UTRN></sr:TopUpDevice>",
        {"utrn": "12345678901234567890"},
    ),
    "2.3": (
        "<sr:UpdateDebt><sr:TimeDebtRegister1>1000</sr:TimeDebtRegister1>"
        "<sr:TimeDebtRegister2>0</sr:TimeDebtRegister2><sr:PaymentDebtRegister>0</sr:PaymentDebtRegister>"
        "<sr:DebtRecoveryPerPayment>0</sr:DebtRecoveryPerPayment>"
        "<sr:ElecDebtRecovery1><sr:DebtRecoveryRate>50</sr:DebtRecoveryRate>"
        "<sr:DebtRecoveryRatePriceScale>-2</sr:DebtRecoveryRatePriceScale>"
        "<sr:DebtRecoveryRatePeriod>DAILY</sr:DebtRecoveryRatePeriod></sr:ElecDebtRecovery1>"
        "<sr:ElecDebtRecovery2><sr:DebtRecoveryRate>0</sr:DebtRecoveryRate>"
        "<sr:DebtRecoveryRatePriceScale>-2</sr:DebtRecoveryRatePriceScale>"
        "<sr:DebtRecoveryRatePeriod>DAILY</sr:DebtRecoveryRatePeriod></sr:ElecDebtRecovery2>"
        "</sr:UpdateDebt>",
        {"debts": [{"name": "time_debt_1", "amount": 10.0, "rate": 0.5}]},
    ),
    "3.1": (
        "<sr:DisplayMessage><sr:SupplierMessage>Hello</sr:SupplierMessage></sr:DisplayMessage>",
        {"text": "Hello"},
    ),
    "3.2": (
        "<sr:RestrictAccessForChangeOfTenancy><sr:RestrictionDateTime>2026-01-02T00:00:00Z"
        "</sr:RestrictionDateTime></sr:RestrictAccessForChangeOfTenancy>",
        {"from_date": "2026-01-02T00:00:00+00:00"},
    ),
    "3.4": (
        "<sr:UpdateSupplierName><sr:SupplierName>Virtual Energy</sr:SupplierName>"
        "<sr:SupplierTelephoneNumber>0800000000</sr:SupplierTelephoneNumber></sr:UpdateSupplierName>",
        {"name": "Virtual Energy"},
    ),
    "4.4.2": (
        f"<sr:RetrieveBillingCalendarTriggeredBillingDataLog>{RANGE}<sr:KAPublicSecurityCredentials>"
        f"{CERT}</sr:KAPublicSecurityCredentials></sr:RetrieveBillingCalendarTriggeredBillingDataLog>",
        RANGE_PARAMS,
    ),
    "4.6.1": (
        f"<sr:RetrieveImportDailyReadLog>{RANGE}<sr:KAPublicSecurityCredentials>{CERT}"
        "</sr:KAPublicSecurityCredentials></sr:RetrieveImportDailyReadLog>",
        RANGE_PARAMS,
    ),
    "4.8.1": (
        f"<sr:ReadActiveImportProfileData>{RANGE}<sr:KAPublicSecurityCredentials>{CERT}"
        "</sr:KAPublicSecurityCredentials></sr:ReadActiveImportProfileData>",
        RANGE_PARAMS,
    ),
    "5.2": (
        "<sr:ReadSchedule><sr:DSPScheduleID>3</sr:DSPScheduleID></sr:ReadSchedule>",
        {"schedule_id": "S3"},
    ),
    "5.3": (
        "<sr:DeleteSchedule><sr:DSPScheduleID>3</sr:DSPScheduleID></sr:DeleteSchedule>",
        {"schedule_id": "S3"},
    ),
    "6.4.1": (
        "<sr:UpdateDeviceConfigurationLoadLimitingGeneralSettings><sr:LoadLimitPeriod>60</sr:LoadLimitPeriod>"
        "<sr:LoadLimitPowerThreshold>5000</sr:LoadLimitPowerThreshold>"
        "<sr:LoadLimitRestorationPeriod>120</sr:LoadLimitRestorationPeriod>"
        "<sr:LoadLimitSupplyState>Disable</sr:LoadLimitSupplyState>"
        "</sr:UpdateDeviceConfigurationLoadLimitingGeneralSettings>",
        {"threshold_w": 5000.0, "period_s": 60.0, "restoration_s": 120.0},
    ),
    "6.11": (
        "<sr:SynchroniseClock><sr:CurrentDateTime>2026-01-06T09:00:00Z</sr:CurrentDateTime>"
        "<sr:TolerancePeriod>60</sr:TolerancePeriod></sr:SynchroniseClock>",
        {},
    ),
    "6.13": (
        f"<sr:ReadEventOrSecurityLog>{RANGE}<sr:LogToRead>Security</sr:LogToRead></sr:ReadEventOrSecurityLog>",
        {"log": "security"},
    ),
    "6.20.1": (
        "<sr:SetDeviceConfigurationImportMPxN><sr:ImportMPANs><sr:ImportMPAN>1234567890123</sr:ImportMPAN>"
        "</sr:ImportMPANs></sr:SetDeviceConfigurationImportMPxN>",
        {"mpxn": "1234567890123"},
    ),
    "6.24.1": (
        "<sr:RetrieveDeviceSecurityCredentialsKRP><sr:RemotePartyRole>Supplier</sr:RemotePartyRole>"
        "</sr:RetrieveDeviceSecurityCredentialsKRP>",
        {"credential_role": "supplier"},
    ),
    "6.25": (
        "<sr:SetElectricitySupplyTamperState><sr:SupplyTamperState>Locked</sr:SupplyTamperState>"
        "</sr:SetElectricitySupplyTamperState>",
        {"state": "locked"},
    ),
    "8.2": ("<sr:ReadInventory><sr:DeviceID>00-1A-2B-FF-FE-00-10-02</sr:DeviceID></sr:ReadInventory>", {}),
    "8.3": (
        "<sr:DecommissionDevice><sr:DeviceID>00-1A-2B-FF-FE-00-10-02</sr:DeviceID></sr:DecommissionDevice>",
        {},
    ),
    "8.4": (
        "<sr:UpdateInventory><sr:DeviceID>00-1A-2B-FF-FE-00-10-02</sr:DeviceID>"
        "<sr:UpdateDeviceStatusCH>Commissioned</sr:UpdateDeviceStatusCH></sr:UpdateInventory>",
        {"status": "Commissioned"},
    ),
    "8.7.2": (
        "<sr:JoinServiceNonCritical><sr:OtherDeviceID>00-1A-2B-FF-FE-00-10-04</sr:OtherDeviceID>"
        "</sr:JoinServiceNonCritical>",
        {},
    ),
    "8.8.2": (
        "<sr:UnjoinServiceNonCritical><sr:OtherDeviceID>00-1A-2B-FF-FE-00-10-04</sr:OtherDeviceID>"
        "</sr:UnjoinServiceNonCritical>",
        {},
    ),
    "8.11": (
        "<sr:UpdateHANDeviceLog><sr:DeviceID>00-1A-2B-FF-FE-00-10-04</sr:DeviceID>"
        "<sr:RequestType>Remove</sr:RequestType></sr:UpdateHANDeviceLog>",
        {"remove": ["00-1A-2B-FF-FE-00-10-04"]},
    ),
    "11.1": (
        "<sr:UpdateFirmware><sr:FirmwareImage>AAAA</sr:FirmwareImage><sr:FirmwareVersion>1.5.0</sr:FirmwareVersion>"
        "<sr:DeviceIDList>00-1A-2B-FF-FE-00-10-02</sr:DeviceIDList></sr:UpdateFirmware>",
        {"version": "1.5.0"},
    ),
    "11.3": (
        "<sr:ActivateFirmware><sr:FirmwareHash>" + "00" * 32 + "</sr:FirmwareHash></sr:ActivateFirmware>",
        {},
    ),
}

SAMPLES |= {
    "1.1.1": (
        "<sr:UpdateImportTariffPrimaryElement><sr:ElecTariffElements><sr:CurrencyUnits>GBP</sr:CurrencyUnits>"
        "<sr:SwitchingTable><sr:DayProfiles><sr:DayProfile><sr:DayName>1</sr:DayName>"
        "<sr:ProfileSchedule><sr:StartTime>00:00:00</sr:StartTime><sr:TOUTariffAction>2</sr:TOUTariffAction>"
        "</sr:ProfileSchedule><sr:ProfileSchedule><sr:StartTime>07:00:00</sr:StartTime>"
        "<sr:TOUTariffAction>1</sr:TOUTariffAction></sr:ProfileSchedule></sr:DayProfile></sr:DayProfiles>"
        "<sr:WeekProfiles><sr:WeekProfile><sr:WeekName>1</sr:WeekName>"
        + "".join(f'<sr:ReferencedDayName index="{i}">1</sr:ReferencedDayName>' for i in range(1, 8))
        + "</sr:WeekProfile></sr:WeekProfiles><sr:Seasons><sr:Season><sr:SeasonName>all</sr:SeasonName>"
        f"<sr:SeasonStartDate>{DATE}</sr:SeasonStartDate><sr:ReferencedWeekName>1</sr:ReferencedWeekName>"
        "</sr:Season></sr:Seasons></sr:SwitchingTable><sr:SpecialDays/><sr:ThresholdMatrix>"
        + "".join(
            f'<sr:Thresholds index="{i}"><sr:BlockThreshold index="1">0</sr:BlockThreshold></sr:Thresholds>'
            for i in range(1, 9)
        )
        + f"</sr:ThresholdMatrix></sr:ElecTariffElements>{ELEC_PRICES}</sr:UpdateImportTariffPrimaryElement>",
        {
            "standing_charge": 50.0,
            "prices": [15.5, 9.0],
            "rates": 2,
            "switches": [{"at": "00:00:00", "rate": 2}, {"at": "07:00:00", "rate": 1}],
        },
    ),
    "2.1": (
        "<sr:UpdatePrepayConfiguration><sr:UpdatePrepayConfigElectricity>"
        "<sr:DebtRecoveryRateCap>0</sr:DebtRecoveryRateCap><sr:EmergencyCreditLimit>1000</sr:EmergencyCreditLimit>"
        "<sr:EmergencyCreditThreshold>500</sr:EmergencyCreditThreshold>"
        "<sr:LowCreditThreshold>200</sr:LowCreditThreshold><sr:ElectricityNonDisablementCalendar>"
        "<sr:ElectricitySpecialDays/><sr:ElectricityNonDisablementSchedule>"
        "<sr:NonDisablementScript>START</sr:NonDisablementScript><sr:SpecialDaysApplicability/>"
        "<sr:DaysOfWeekApplicability/><sr:ScheduleDatesAndTime><sr:SwitchTime>18:00:00</sr:SwitchTime>"
        "<sr:StartDate>2026-01-01</sr:StartDate><sr:EndDate>2026-12-31</sr:EndDate></sr:ScheduleDatesAndTime>"
        "</sr:ElectricityNonDisablementSchedule></sr:ElectricityNonDisablementCalendar>"
        "<sr:MaxMeterBalance>100000</sr:MaxMeterBalance><sr:MaxCreditThreshold>5000</sr:MaxCreditThreshold>"
        "</sr:UpdatePrepayConfigElectricity></sr:UpdatePrepayConfiguration>",
        {
            "emergency_credit_limit": 10.0,
            "emergency_credit_threshold": 5.0,
            "low_credit_threshold": 2.0,
            "max_balance": 1000.0,
            "max_credit": 50.0,
        },
    ),
    "5.1": (
        "<sr:CreateSchedule><sr:ScheduleFrequency>Daily</sr:ScheduleFrequency>"
        "<sr:ScheduleStartDate>2026-01-07</sr:ScheduleStartDate>"
        "<sr:ScheduleExecutionStartTime>01:30:00</sr:ScheduleExecutionStartTime>"
        "<sr:DSPScheduledServiceReference>4.6</sr:DSPScheduledServiceReference>"
        "<sr:DSPScheduledServiceReferenceVariant>4.6.1</sr:DSPScheduledServiceReferenceVariant>"
        "<sr:DeviceID>00-1A-2B-FF-FE-00-10-02</sr:DeviceID><sr:DSPRetrieveImportDailyReadLog>"
        "<sr:StartDateOffset>-1</sr:StartDateOffset><sr:StartTime>00:00:00</sr:StartTime>"
        "<sr:EndDateOffset>0</sr:EndDateOffset><sr:EndTime>00:00:00</sr:EndTime>"
        "</sr:DSPRetrieveImportDailyReadLog></sr:CreateSchedule>",
        {"srv": "4.6.1", "start": "2026-01-07T01:30:00+00:00", "period_s": 86400},
    ),
    "6.8": (
        "<sr:UpdateDeviceConfigurationBillingCalendar><sr:GasBillingCalendar>"
        "<sr:BillingPeriodStart>2026-02-01T00:00:00Z</sr:BillingPeriodStart>"
        "<sr:Periodicity>Monthly</sr:Periodicity></sr:GasBillingCalendar>"
        "</sr:UpdateDeviceConfigurationBillingCalendar>",
        {"start": "2026-02-01T00:00:00+00:00", "period": "monthly"},
    ),
    "6.15.1": (
        "<sr:UpdateSecurityCredentialsKRP><sr:RemotePartyRole>Supplier</sr:RemotePartyRole>"
        "<sr:ReplacementCertificates><sr:SupplierOrNetworkOperatorCertificates>"
        f"<sr:DigitalSigningCertificate>{CERT}</sr:DigitalSigningCertificate>"
        "</sr:SupplierOrNetworkOperatorCertificates></sr:ReplacementCertificates>"
        f"<sr:CertificationPathCertificates><sr:Certificate>{CERT}</sr:Certificate>"
        "</sr:CertificationPathCertificates><sr:ApplyTimeBasedCPVChecks>false</sr:ApplyTimeBasedCPVChecks>"
        "</sr:UpdateSecurityCredentialsKRP>",
        {"credential_roles": ["supplier"]},
    ),
    "6.22": (
        "<sr:ConfigureAlertBehaviour><sr:ElectricitySupplierAlerts><sr:SupplierESMECommon>"
        "<sr:x810D>Enable</sr:x810D><sr:x8119>Disable</sr:x8119>"
        "</sr:SupplierESMECommon></sr:ElectricitySupplierAlerts></sr:ConfigureAlertBehaviour>",
        {"alerts": [{"code": "0x810D", "send": True}, {"code": "0x8119", "send": False}]},
    ),
    "6.23": (
        "<sr:UpdateSecurityCredentialsCoS><sr:SupplierFloorSeqNumber>0</sr:SupplierFloorSeqNumber>"
        f"<sr:SupplierReplacementCertificates><sr:DigitalSigningCertificate>{CERT}</sr:DigitalSigningCertificate>"
        f"</sr:SupplierReplacementCertificates><sr:CertificationPathCertificates><sr:Certificate>{CERT}"
        "</sr:Certificate></sr:CertificationPathCertificates>"
        "<sr:ApplyTimeBasedCPVChecks>false</sr:ApplyTimeBasedCPVChecks><sr:ImportMPxN>1234567890123</sr:ImportMPxN>"
        "</sr:UpdateSecurityCredentialsCoS>",
        {"new_supplier": "90-B3-D5-1F-30-01-00-00"},
    ),
}
