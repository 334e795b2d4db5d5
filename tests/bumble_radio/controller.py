"""A Bumble link-layer controller with the two behaviours the emulated radio needs.

Bumble 0.0.236's ``Controller`` acknowledges *LE Create Connection Cancel* but never ends
the pending connection, so a host whose connect attempt timed out would wait forever and
the next attempt would be refused. A real controller answers the cancel with an
*LE Connection Complete* event carrying status 0x02 (Unknown Connection Identifier); this
one does the same. It also reports a per-advertiser RSSI so a scan can tell devices apart.
"""

from __future__ import annotations

from bumble import hci
from bumble.controller import Controller

#: RSSI reported for advertisers that were given none (Bumble's own constant).
DEFAULT_RSSI_DBM = -50


class VirtualController(Controller):
    """Bumble controller that cancels pending LE connections and reports set RSSIs."""

    # LE Data Length Extension, as any BLE 5 controller: a 244-byte notification is one
    # ACL packet rather than ten 27-byte fragments.
    le_acl_data_packet_length = 251
    supported_max_tx_octets = 251
    supported_max_rx_octets = 251

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.rssi_dbm_by_address: dict[str, int] = {}

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """End the pending connection as the spec says: a failed connection-complete event."""
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        self.send_hci_packet(_cancelled_connection_event(pending.peer_address))
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        """Stamp advertising reports with the advertiser's configured RSSI, then send."""
        if isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
            for report in packet.reports:
                key = report.address.to_string(with_type_qualifier=False)
                report.rssi = self.rssi_dbm_by_address.get(key, DEFAULT_RSSI_DBM)
        super().send_hci_packet(packet)


def _cancelled_connection_event(peer_address: hci.Address) -> hci.HCI_Packet:
    """The *LE Connection Complete* event a controller sends for a cancelled connect."""
    return hci.HCI_LE_Connection_Complete_Event(
        status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
        connection_handle=0,
        role=hci.Role.CENTRAL,
        peer_address_type=peer_address.address_type,
        peer_address=peer_address,
        connection_interval=0,
        peripheral_latency=0,
        supervision_timeout=0,
        central_clock_accuracy=0,
    )
