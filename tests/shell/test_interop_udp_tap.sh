#!/bin/bash
# tests/shell/test_interop_udp_tap.sh: every case of test_interop_udp.sh (UDP
# echo to Linux's nc -u and socat, fragments both ways, ECONNREFUSED both
# ways, tern's SOCK_DGRAM sockets against Linux, --count) over a TAP device:
# Ethernet frames, ARP resolving both sides.
#
# Usage: bash test_interop_udp_tap.sh <tern binary> <source dir>
TERN_LINK=tap exec bash "$(dirname "$0")/test_interop_udp.sh" "$@"
